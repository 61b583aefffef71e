// Sign in: email and password, then the 2FA step when the account has it (an authenticator
// code, or one of the backup codes). The tokens end up in HttpOnly cookies set by the gateway.

import { api } from "../api.js";
import { field, h, notice, onSubmit } from "../ui.js";

export const title = "Sign in";

function safeNext(params) {
  const next = params.get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

async function finish(ctx) {
  await ctx.reloadAccount();
  ctx.navigate(safeNext(ctx.params), { replace: true });
}

function mfaStep(main, ctx, mfaToken) {
  const codeInput = h("input", {
    name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true, maxlength: 32, autofocus: true,
  });
  const hint = h("div", { class: "hint" }, "The 6-digit code from your authenticator app.");
  const toggle = h("button", { type: "button", class: "link", id: "use-backup-code" }, "Use a backup code instead");
  toggle.addEventListener("click", () => {
    const backup = codeInput.getAttribute("inputmode") === "numeric";
    codeInput.setAttribute("inputmode", backup ? "text" : "numeric");
    codeInput.setAttribute("autocomplete", backup ? "off" : "one-time-code");
    hint.textContent = backup ? "One of the backup codes you saved when you turned on two-factor sign-in. Each works once." : "The 6-digit code from your authenticator app.";
    toggle.textContent = backup ? "Use the authenticator app instead" : "Use a backup code instead";
    codeInput.focus();
  });
  const form = h("form", { class: "card", novalidate: true },
    h("h1", { tabindex: "-1" }, "Two-factor sign-in"),
    h("div", { class: "field" }, h("label", { for: "mfa-code" }, "Code"), codeInput, hint),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Verify"), toggle),
  );
  codeInput.id = "mfa-code";
  onSubmit(form, async (data) => {
    await api.post("/web/session/mfa", { mfa_token: mfaToken, code: String(data.get("code")).trim() });
    await finish(ctx);
  }, ["code"]);
  main.replaceChildren(h("div", { class: "narrow" }, form));
  codeInput.focus();
}

export async function render(main, ctx) {
  const form = h("form", { class: "card", novalidate: true },
    h("h1", { tabindex: "-1" }, "Sign in to AICosts"),
    ctx.params.get("reason") === "signed-out" ? notice("info", "You have been signed out.") : null,
    field({ label: "Email", name: "email", type: "email", autocomplete: "username", required: true }),
    field({ label: "Password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Sign in")),
  );
  onSubmit(form, async (data) => {
    const reply = await api.post("/web/session", { email: String(data.get("email")).trim(), password: data.get("password") });
    if (reply.mfa_required) mfaStep(main, ctx, reply.mfa_token);
    else await finish(ctx);
  }, ["password"]);
  main.append(h("div", { class: "narrow" },
    form,
    h("p", {}, h("a", { href: "/forgot-password", "data-link": "" }, "Forgot your password?")),
    h("p", {}, "New to AICosts? ", h("a", { href: "/signup", "data-link": "" }, "Create an account")),
  ));
}
