// Sign up: name, email and password. The API answers 202 the same way whether or not the address
// already has an account (nothing is revealed), so the next page explains the email to look for.

import { api } from "../api.js";
import { field, h, onSubmit } from "../ui.js";

export const title = "Create an account";

export async function render(main, ctx) {
  const form = h("form", { class: "card", novalidate: true },
    h("h1", { tabindex: "-1" }, "Create your AICosts account"),
    h("p", { class: "subtle" }, "See what your team spends on AI, across providers, in one place."),
    field({ label: "Your name", name: "name", autocomplete: "name", required: true, maxlength: 200 }),
    field({ label: "Email", name: "email", type: "email", autocomplete: "email", required: true }),
    field({
      label: "Password", name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 8,
      hint: "At least 8 characters. Common passwords are refused; a passphrase of a few words works well.",
    }),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Create account")),
  );
  onSubmit(form, async (data) => {
    const email = String(data.get("email")).trim();
    await api.post("/v1/auth/signup", { name: String(data.get("name")).trim(), email, password: data.get("password") });
    ctx.navigate(`/check-email?email=${encodeURIComponent(email)}`, { replace: true });
  }, ["password"]);
  main.append(h("div", { class: "narrow" },
    form,
    h("p", {}, "Already have an account? ", h("a", { href: "/signin", "data-link": "" }, "Sign in")),
  ));
}
