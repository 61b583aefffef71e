// Forgot password: ask for a reset link. The answer is the same whether or not the address has an
// account, so the page only ever shows a neutral confirmation.

import { api } from "../api.js";
import { field, h, notice, onSubmit } from "../ui.js";

export const title = "Reset your password";

export async function render(main) {
  const wrap = h("div", { class: "narrow" });
  const form = h("form", { class: "card", novalidate: true },
    h("h1", { tabindex: "-1" }, "Reset your password"),
    h("p", { class: "subtle" }, "Enter the email address of your account and we will send you a link to choose a new password."),
    field({ label: "Email", name: "email", type: "email", autocomplete: "username", required: true }),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Send reset link")),
  );
  onSubmit(form, async (data) => {
    const email = String(data.get("email")).trim();
    await api.post("/v1/auth/password-reset", { email });
    const done = h("section", { class: "card", "aria-labelledby": "reset-sent" },
      h("h1", { id: "reset-sent", tabindex: "-1" }, "Check your email"),
      notice("ok", "If an account uses ", h("strong", {}, email), ", a link to reset its password is on its way."),
      h("p", {}, "The link expires after 1 hour and works once. If two-factor sign-in is on, you will also need a code from your authenticator app or a backup code."),
      h("p", { class: "subtle" }, "Nothing arrived after a few minutes? Check your spam folder, or try again."),
      h("div", { class: "row" },
        h("a", { class: "button primary", href: "/signin", "data-link": "" }, "Back to sign in"),
        h("button", { type: "button", class: "link", onclick: () => { done.replaceWith(form); form.querySelector("input").focus(); } }, "Use another address"),
      ),
    );
    form.replaceWith(done);
    done.querySelector("h1").focus();
  });
  wrap.append(form, h("p", {}, h("a", { href: "/signin", "data-link": "" }, "Back to sign in")));
  main.append(wrap);
}
