// After sign-up: what to do next. The address comes from the query string and is only ever shown
// as text.

import { h } from "../ui.js";

export const title = "Check your email";

export async function render(main, ctx) {
  const email = (ctx.params.get("email") || "").slice(0, 320);
  const to = email ? h("strong", { class: "account-email" }, email) : "the address you signed up with";
  main.append(h("div", { class: "narrow" },
    h("section", { class: "card account-check", "aria-labelledby": "check-title" },
      h("div", { class: "account-mail-icon", "aria-hidden": "true" }, "✉"),
      h("h1", { id: "check-title", tabindex: "-1" }, "Check your email"),
      h("p", {}, "We sent a confirmation link to ", to, "."),
      h("ol", { class: "account-steps" },
        h("li", {}, "Open the email from AICosts with the subject “Confirm your email address for AICosts”."),
        h("li", {}, "Open the link in it and press ", h("strong", {}, "Confirm my email address"), ". The link works once and expires after 24 hours."),
        h("li", {}, "Sign in and add your first provider key."),
      ),
      h("p", { class: "subtle" }, "If this address already has an account, the email says so instead: then ",
        h("a", { href: "/signin", "data-link": "" }, "sign in"), " or ", h("a", { href: "/forgot-password", "data-link": "" }, "reset your password"), "."),
      h("h2", {}, "No email?"),
      h("ul", { class: "account-tips" },
        h("li", {}, "It can take a few minutes. Check your spam or junk folder."),
        h("li", {}, "Check the address above for a typo; if it is wrong, ", h("a", { href: "/signup", "data-link": "" }, "sign up again"), "."),
        h("li", {}, "You can sign in before confirming and send the email again from ", h("strong", {}, "Settings → Profile"), ". Accounts not confirmed within 7 days are deleted."),
      ),
      h("div", { class: "row" }, h("a", { class: "button primary", href: "/signin", "data-link": "" }, "Go to sign in")),
    ),
  ));
}
