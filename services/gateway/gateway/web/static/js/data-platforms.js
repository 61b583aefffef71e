// How to get the right key for each platform that connects by API key: which kind of key, the
// console page where it is made, who may make it, and how far it can be limited. Written from
// docs/providers.md and the providers' public docs. GET /v1/platforms stays the source of which
// platforms exist and how they connect; a platform missing here falls back to its `key_hint`.

export const GUIDANCE = {
  openai: {
    keyName: "Admin key",
    prefix: "sk-admin-",
    notThis: "A project key (sk-proj-...) or a user key cannot read organization costs.",
    consoleName: "OpenAI Platform → Settings → Organization → Admin keys",
    consoleUrl: "https://platform.openai.com/settings/organization/admin-keys",
    who: "An organization owner creates it.",
    readOnly: "If the dialog offers permissions, choose read-only: AICosts only reads the Costs and Usage reports.",
  },
  anthropic: {
    keyName: "Admin API key",
    prefix: "sk-ant-admin",
    notThis: "A normal API key (sk-ant-api...) cannot read the cost report.",
    consoleName: "Claude Console → Settings → Admin keys",
    consoleUrl: "https://console.anthropic.com/settings/admin-keys",
    who: "A member with the organization admin role creates it.",
    readOnly: "Admin keys in the Claude Console cannot be narrowed, so treat it as a powerful secret: AICosts only reads the cost and usage reports with it.",
  },
  elevenlabs: {
    keyName: "API key with usage access",
    prefix: null,
    notThis: "Workspace-wide usage also needs a workspace admin's key.",
    consoleName: "ElevenLabs → Settings → API keys",
    consoleUrl: "https://elevenlabs.io/app/settings/api-keys",
    who: "Any member can create one for their own usage.",
    readOnly: "Restrict the key's permissions to reading; AICosts only reads character usage. Costs are estimated from characters.",
  },
  openrouter: {
    keyName: "Management key (called a provisioning key before)",
    prefix: null,
    notThis: "An inference key (the one you call models with) cannot read activity.",
    consoleName: "OpenRouter → Settings → Management keys",
    consoleUrl: "https://openrouter.ai/settings/management-keys",
    who: "The account or organization owner creates it.",
    readOnly: "AICosts only reads the daily activity with it. OpenRouter keeps the last 30 days of activity.",
  },
  deepgram: {
    keyName: "API key with the Member role",
    prefix: null,
    notThis: "Member is the lowest role that can read usage and billing.",
    consoleName: "Deepgram Console → your project → Settings → API Keys",
    consoleUrl: "https://console.deepgram.com/",
    who: "A project owner or admin creates it.",
    readOnly: "AICosts only reads the usage and billing breakdowns of the projects the key can see.",
  },
  aws_bedrock: {
    keyName: "Access key of an IAM user allowed only ce:GetCostAndUsage",
    prefix: "AKIA",
    notThis: "Not your root user's key, and not an administrator's: create a user for AICosts with the one-action policy in the AICosts provider docs.",
    consoleName: "AWS console → IAM → Users → your AICosts user → Security credentials → Create access key",
    consoleUrl: "https://console.aws.amazon.com/iam/home#/users",
    who: "An IAM administrator creates the user and its key; Cost Explorer must be enabled in the account (Billing and Cost Management).",
    readOnly: "The policy allows ce:GetCostAndUsage alone: the key can read costs and nothing else. Each sync makes one Cost Explorer request (USD 0.01) per page of results.",
    pasteStep: "Paste the access key ID and the secret access key below. The secret is stored encrypted and never shown again; the list shows the access key ID's last 4 characters.",
  },
};

export function guidanceFor(platformId) {
  return GUIDANCE[platformId] || null;
}
