// Settings: profile, password, two-factor sign-in, sessions, plan and billing. One page with a
// section per topic and an in-page nav; /settings#two-factor etc. open at that section.

import { api } from "../api.js";
import { planSection } from "../account-plan.js";
import { sessionsSection } from "../account-sessions.js";
import { twoFactorSection } from "../account-twofactor.js";
import { errorBox, field, h, localTime, notice, onSubmit, pageHead, toast } from "../ui.js";

export const title = "Settings";

const SECTIONS = [
  ["profile", "Profile"],
  ["password", "Password"],
  ["two-factor", "Two-factor sign-in"],
  ["sessions", "Sessions"],
  ["plan", "Plan and billing"],
];

function section(id, heading) {
  const body = h("div", { class: "account-section-body" });
  const el = h("section", { class: "card account-section", id, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title`, tabindex: "-1" }, heading),
    body,
  );
  return { el, body };
}

function goTo(id, { focus = true } = {}) {
  const target = document.getElementById(id);
  if (!target) return;
  target.scrollIntoView({ block: "start" });
  if (focus) target.querySelector("h2")?.focus({ preventScroll: true });
}

function profileSection(body, state) {
  const nameForm = h("form", { novalidate: true },
    field({ label: "Name", name: "name", autocomplete: "name", required: true, maxlength: 200, value: state.account().name }),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Save name")),
  );
  onSubmit(nameForm, async (data) => {
    await api.patch("/v1/me", { name: String(data.get("name")).trim() });
    await state.reload();
    toast("Name saved.");
  });

  const emailBox = h("div", { class: "account-email-box" });
  const drawEmail = () => {
    const account = state.account();
    const children = [
      h("div", { class: "account-label", id: "email-label" }, "Email"),
      h("div", { class: "row", "aria-labelledby": "email-label" },
        h("span", { class: "account-email" }, account.email),
        account.email_verified ? h("span", { class: "badge ok" }, "Confirmed") : h("span", { class: "badge warn" }, "Not confirmed"),
      ),
    ];
    if (!account.email_verified) {
      const result = h("div", { "aria-live": "polite" });
      const resend = h("button", { type: "button", id: "resend-verification" }, "Resend verification email");
      resend.addEventListener("click", async () => {
        resend.disabled = true;
        result.replaceChildren();
        try {
          await api.post("/v1/me/email-verification");
          result.append(notice("ok", `A new confirmation link is on its way to ${account.email}. It expires after 24 hours.`));
        } catch (error) {
          result.append(errorBox(error));
        } finally {
          resend.disabled = false;
        }
      });
      children.push(
        h("p", { class: "hint" }, "Confirm your address to turn on two-factor sign-in and to buy a plan. Unconfirmed accounts are deleted after 7 days."),
        h("div", { class: "row" }, resend),
        result,
      );
    }
    emailBox.replaceChildren(...children);
  };
  drawEmail();
  body.append(
    nameForm,
    emailBox,
    h("p", { class: "subtle" }, `Account created ${localTime(state.account().created_at)}.`),
  );
  return drawEmail;
}

function passwordSection(body) {
  const form = h("form", { novalidate: true },
    field({ label: "Current password", name: "current_password", type: "password", autocomplete: "current-password", required: true }),
    field({
      label: "New password", name: "new_password", type: "password", autocomplete: "new-password", required: true, minlength: 8,
      hint: "At least 8 characters; common passwords are refused.",
    }),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Change password")),
  );
  const result = h("div", { "aria-live": "polite" });
  onSubmit(form, async (data) => {
    result.replaceChildren();
    await api.post("/v1/me/password", { current_password: data.get("current_password"), new_password: data.get("new_password") });
    form.reset();
    result.append(notice("ok", "Your password is changed. Every other session has been signed out; this one stays signed in."));
  }, ["current_password", "new_password"]);
  body.append(h("p", { class: "subtle" }, "Changing the password signs out every other session."), result, form);
}

export async function render(main, ctx) {
  let account = ctx.account;
  const listeners = [];
  const state = {
    account: () => account,
    async reload() {
      account = (await ctx.reloadAccount()) || account;
      listeners.forEach((fn) => fn());
      return account;
    },
  };

  const nav = h("nav", { class: "account-nav", "aria-label": "Settings sections" },
    h("ul", {}, SECTIONS.map(([id, label]) => h("li", {}, h("a", { href: `#${id}` }, label)))),
  );
  // Hash links without a history entry: the router redraws on popstate, which hash navigation fires.
  nav.addEventListener("click", (event) => {
    const link = event.target.closest("a[href^='#']");
    if (!link) return;
    event.preventDefault();
    const id = link.getAttribute("href").slice(1);
    window.history.replaceState(window.history.state, "", `#${id}`);
    goTo(id);
  });

  const parts = Object.fromEntries(SECTIONS.map(([id, label]) => [id, section(id, label)]));
  listeners.push(profileSection(parts.profile.body, state));
  passwordSection(parts.password.body);
  twoFactorSection(parts["two-factor"].body, state);
  const loading = [
    sessionsSection(parts.sessions.body),
    planSection(parts.plan.body, state, ctx.params),
  ];

  main.append(
    pageHead("Settings"),
    h("div", { class: "account-layout" },
      nav,
      h("div", { class: "account-sections" }, Object.values(parts).map((p) => p.el)),
    ),
  );
  await Promise.allSettled(loading);
  const hash = decodeURIComponent(window.location.hash.slice(1)) || (ctx.params.get("checkout") || ctx.params.get("billing") ? "plan" : "");
  if (parts[hash]) requestAnimationFrame(() => goTo(hash));
}
