// The audit log: every service's events for this account, merged newest first by the API; filters
// (days, kind of action, outcome) live in the URL query so a filtered view can be shared or
// reloaded; "Load more" follows the cursor; the export downloads the same filter as CSV or JSON.

import { api, download } from "../api.js";
import { emptyState, errorBox, field, h, pageHead, timeZone, utcDay } from "../ui.js";

export const title = "Audit log";

const PAGE = 50;
// Action prefixes the API matches ("credential" also matches credential.create).
const ACTION_GROUPS = [
  ["", "All actions"],
  ["credential", "Provider keys"],
  ["sync", "Syncs"],
  ["upload", "Billing files"],
  ["usage", "Usage data"],
  ["session", "Sign-ins and sessions"],
  ["mfa", "Two-factor sign-in"],
  ["password", "Password"],
  ["account", "Account"],
  ["billing", "Billing and plan"],
  ["audit", "Audit log exports"],
];
const ACTIONS = {
  "account.signup": "Account created",
  "alert.fired": "Alert fired",
  "alert.delivered": "Alert delivered",
  "alert.delivery_failed": "Alert delivery given up",
  "alert.email_sent": "Alert email sent",
  "alert.acknowledged": "Alert acknowledged",
  "alert.muted": "Alert muted",
  "alert_destination.created": "Alert destination added",
  "alert_destination.deleted": "Alert destination deleted",
  "alert_destination.tested": "Alert destination tested",
  "alert_settings.updated": "Anomaly detection settings changed",
  "account.updated": "Profile changed",
  "account.email_verified": "Email address confirmed",
  "account.verification_resent": "Confirmation email sent again",
  "audit.export": "Audit log exported",
  "billing.checkout_started": "Checkout started",
  "budget.created": "Budget created",
  "budget.updated": "Budget changed",
  "budget.deleted": "Budget deleted",
  "billing.customer_created": "Billing customer created",
  "billing.plan_changed": "Plan changed",
  "billing.portal_opened": "Billing portal opened",
  "credential.create": "Provider key added",
  "credential.delete": "Provider key deleted",
  "credential.reveal": "Provider key used for a sync",
  "mfa.enabled": "Two-factor sign-in turned on",
  "mfa.disabled": "Two-factor sign-in turned off",
  "mfa.setup_started": "Two-factor setup started",
  "mfa.backup_code_used": "Backup code used",
  "mfa.backup_codes_regenerated": "New backup codes made",
  "mfa.totp_replay": "Authenticator code reused",
  "password.changed": "Password changed",
  "password.reset": "Password reset",
  "password.reset_requested": "Password reset requested",
  "session.login": "Signed in",
  "session.logout": "Signed out",
  "session.logout_all": "Signed out everywhere",
  "session.mfa_challenge": "Asked for a two-factor code",
  "session.refresh_token_reuse": "Reused session token refused",
  "sync.started": "Sync started",
  "sync.finished": "Sync finished",
  "sync.failed": "Sync failed",
  "upload.created": "Billing file uploaded",
  "upload.imported": "Billing file imported",
  "upload.deleted": "Billing file deleted",
  "usage.records_imported": "Usage records imported",
  "usage.records_deleted": "Usage records deleted",
  "usage.credential_forgotten": "Key's scheduled syncs stopped",
};
const OUTCOMES = { success: "ok", failure: "error", denied: "warn" };
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function filtersFrom(params) {
  const day = (name) => (DAY.test(params.get(name) || "") ? params.get(name) : "");
  const outcome = params.get("outcome") || "";
  return {
    from: day("from"),
    to: day("to"),
    action: (params.get("action") || "").trim(),
    outcome: outcome in OUTCOMES ? outcome : "",
  };
}

function queryOf(filters) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) q.set(key, value);
  return q;
}

function detailsText(details) {
  return Object.entries(details || {})
    .filter(([, v]) => v !== null && v !== "" && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
}

const withSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

function who(actor, accountId) {
  if (actor === `account:${accountId}`) return "You";
  if (actor?.startsWith("service:")) return `${actor.slice(8)} service`;
  if (actor === "anonymous") return "Not signed in";
  return actor || "—";
}

function eventRow(event, accountId) {
  const details = detailsText(event.details);
  const more = [
    ...details,
    event.user_agent ? `browser: ${event.user_agent}` : null,
    event.request_id ? `request id: ${event.request_id}` : null,
  ].filter(Boolean);
  const target = event.target?.type
    ? h("div", {}, h("div", {}, event.target.type.replace(/_/g, " ")), event.target.id ? h("code", { class: "target-id" }, event.target.id) : null)
    : "—";
  return h("tr", {},
    h("td", { "data-label": "Time", class: "nowrap" }, h("time", { datetime: event.at, title: `${event.at} (UTC)` }, withSeconds.format(new Date(event.at)))),
    h("td", { "data-label": "Action" }, h("div", {},
      h("div", {}, ACTIONS[event.action] || event.action),
      h("code", { class: "subtle" }, event.action),
      more.length ? h("details", { class: "event-details" }, h("summary", {}, "Details"),
        h("ul", {}, more.map((line) => h("li", {}, line)))) : null)),
    h("td", { "data-label": "Outcome" }, h("span", { class: `badge ${OUTCOMES[event.outcome] || ""}`.trim() }, event.outcome)),
    h("td", { "data-label": "Source" }, h("div", {}, h("div", {}, event.service || "—"), h("div", { class: "subtle", title: event.actor }, who(event.actor, accountId)))),
    h("td", { "data-label": "Target", class: "target" }, target),
    h("td", { "data-label": "IP", class: "mono" }, event.ip || "—"),
  );
}

export async function render(main, ctx) {
  const filters = filtersFrom(ctx.params);
  let stopped = false;
  let cursor = null;

  const actionSelect = h("select", {}, ACTION_GROUPS.map(([value, text]) => h("option", { value }, text)));
  if (filters.action && !ACTION_GROUPS.some(([value]) => value === filters.action)) {
    actionSelect.append(h("option", { value: filters.action }, filters.action)); // a link with an exact action
  }
  actionSelect.value = filters.action;
  const outcomeSelect = h("select", {},
    h("option", { value: "" }, "Any outcome"),
    h("option", { value: "success" }, "Success"),
    h("option", { value: "failure" }, "Failure"),
    h("option", { value: "denied" }, "Denied"));
  outcomeSelect.value = filters.outcome;
  const today = utcDay();
  const form = h("form", { class: "card audit-filters", role: "search", "aria-label": "Filter events", novalidate: true },
    field({ label: "From (UTC day)", name: "from", type: "date", max: today, value: filters.from }),
    field({ label: "To (UTC day)", name: "to", type: "date", max: today, value: filters.to }),
    field({ label: "Action", name: "action", control: actionSelect }),
    field({ label: "Outcome", name: "outcome", control: outcomeSelect }),
    h("div", { class: "row filter-buttons" },
      h("button", { type: "submit", class: "primary" }, "Apply filters"),
      h("a", { class: "button", href: "/audit", "data-link": "" }, "Reset")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = queryOf({
      from: String(data.get("from") || ""),
      to: String(data.get("to") || ""),
      action: String(data.get("action") || ""),
      outcome: String(data.get("outcome") || ""),
    });
    const search = next.toString();
    ctx.navigate(`/audit${search ? `?${search}` : ""}`);
  });

  const exportError = h("div");
  const exportButton = (format) => {
    const button = h("button", { type: "button" }, `Export ${format.toUpperCase()}`);
    button.addEventListener("click", async () => {
      button.disabled = true;
      exportError.replaceChildren();
      try {
        await download("/v1/audit-events/export", { ...filters, format }, `aicosts-audit-events.${format}`);
      } catch (error) {
        exportError.replaceChildren(errorBox(error));
      } finally {
        button.disabled = false;
      }
    });
    return button;
  };

  const tbody = h("tbody");
  const moreButton = h("button", { type: "button", hidden: true }, "Load more");
  const listError = h("div");
  const body = h("div", { class: "audit-body" });
  const count = h("p", { class: "subtle", role: "status" });
  const filtered = Object.values(filters).some(Boolean);

  async function load(reset) {
    moreButton.disabled = true;
    try {
      const page = await api.get("/v1/audit-events", { ...filters, limit: PAGE, cursor: reset ? null : cursor });
      if (stopped) return;
      listError.replaceChildren();
      if (reset) tbody.replaceChildren();
      tbody.append(...page.items.map((e) => eventRow(e, ctx.account.id)));
      cursor = page.next_cursor;
      moreButton.hidden = !cursor;
      const n = tbody.children.length;
      count.textContent = n ? `${n} event${n === 1 ? "" : "s"} shown${cursor ? "; more are older" : ""}. Times in ${timeZone()}.` : "";
      if (!n) {
        body.replaceChildren(filtered
          ? emptyState("No events match these filters", "Widen the days or choose “All actions”.",
            h("a", { class: "button", href: "/audit", "data-link": "" }, "Show all events"))
          : emptyState("No events yet", "Sign-ins, key and file changes, syncs and exports appear here as they happen.",
            h("a", { class: "button", href: "/keys", "data-link": "" }, "Connect a provider key")));
      } else if (!body.contains(tbody)) {
        body.replaceChildren(h("div", { class: "table-wrap" }, h("table", { class: "audit-table stacked" },
          h("caption", { class: "visually-hidden" }, "Audit events, newest first"),
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, `Time (${timeZone()})`), h("th", { scope: "col" }, "Action"),
            h("th", { scope: "col" }, "Outcome"), h("th", { scope: "col" }, "Source"),
            h("th", { scope: "col" }, "Target"), h("th", { scope: "col" }, "IP"))),
          tbody)), h("div", { class: "row load-more" }, moreButton));
      }
    } catch (error) {
      if (!stopped) listError.replaceChildren(errorBox(error));
    } finally {
      moreButton.disabled = false;
    }
  }
  moreButton.addEventListener("click", () => load(false));

  main.append(
    pageHead("Audit log", exportButton("csv"), exportButton("json")),
    h("p", { class: "page-intro" },
      "Security and data events of your account from every AICosts service, newest first, kept for 12 months. ",
      "Exports use the filters below and are themselves recorded here."),
    exportError,
    form,
    count,
    listError,
    body,
  );
  await load(true);
  return () => {
    stopped = true;
  };
}
