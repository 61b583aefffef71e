// Settings → Plan and billing: the plans with their limits, the current one marked; Stripe
// Checkout to upgrade, the Stripe customer portal to manage a subscription. Servers without
// Stripe keys say so in words a self-hoster can act on.

import { api } from "./api.js";
import { errorBox, h, money, notice } from "./ui.js";

function notConfigured(error) {
  return error.status === 422 && /not configured/i.test(error.message || "");
}

function explainNotConfigured() {
  return notice("info",
    h("strong", {}, "Payments are not configured on this server. "),
    "Every feature of the current plan keeps working. If you run this installation, set ",
    h("code", {}, "STRIPE_SECRET_KEY"), ", ", h("code", {}, "STRIPE_WEBHOOK_SECRET"), " and ",
    h("code", {}, "STRIPE_PRICE_PROFESSIONAL"),
    " for the auth service (all three, or none) and restart it; docs/operations.md explains each setting. Otherwise ask your administrator.",
  );
}

function limitText(plan) {
  return [
    plan.max_credentials === null || plan.max_credentials === undefined ? "Unlimited provider keys" : `Up to ${plan.max_credentials} provider keys`,
    `${plan.history_days} days of usage history`,
    plan.ai_parsing ? "AI parsing of unknown billing files" : "No AI parsing of billing files",
    plan.csv_export ? "CSV export" : "No CSV export",
  ];
}

export function planSection(body, state, params) {
  const status = h("div", { "aria-live": "polite" });
  const plans = h("div", { class: "account-plans" });
  const checkout = params.get("checkout");
  if (checkout === "success") status.append(notice("ok", "Thank you! Your payment went through. The new plan shows here as soon as Stripe confirms it, usually within a minute."));
  if (checkout === "cancelled") status.append(notice("info", "Checkout was cancelled; nothing was charged."));

  async function go(button, path, json) {
    button.disabled = true;
    status.replaceChildren();
    try {
      const reply = await api.post(path, json);
      window.location.assign(reply.url);
    } catch (error) {
      status.replaceChildren(notConfigured(error) ? explainNotConfigured() : errorBox(error));
      button.disabled = false;
    }
  }

  function card(plan, current) {
    const isCurrent = plan.id === current.id;
    const price = [h("span", { class: "account-price" }, money(plan.price_usd_month)), " per month"];
    let action = null;
    if (isCurrent && Number(plan.price_usd_month) > 0) {
      action = h("button", { type: "button", id: "billing-portal" }, "Manage billing");
      action.addEventListener("click", () => go(action, "/v1/billing/portal"));
    } else if (!isCurrent && Number(plan.price_usd_month) > Number(current.price_usd_month)) {
      action = h("button", { type: "button", class: "primary", "data-plan": plan.id }, `Upgrade to ${plan.name}`);
      action.addEventListener("click", () => go(action, "/v1/billing/checkout", { plan: plan.id }));
    }
    const features = plan.features?.length ? plan.features : limitText(plan);
    return h("section", { class: `account-plan${isCurrent ? " current" : ""}`, "aria-labelledby": `plan-${plan.id}` },
      h("h3", { id: `plan-${plan.id}` }, plan.name, " ", isCurrent ? h("span", { class: "badge ok" }, "Current plan") : null),
      h("p", {}, ...price),
      h("ul", {}, features.map((f) => h("li", {}, f))),
      action ? h("div", { class: "row" }, action) : null,
    );
  }

  async function load() {
    try {
      const reply = await api.get("/v1/billing/plans");
      const items = reply.items || [];
      const current = items.find((p) => p.id === state.account().plan) || items[0] || { id: state.account().plan, price_usd_month: "0" };
      plans.replaceChildren(...items.map((p) => card(p, current)));
      body.querySelector(".account-current-plan").replaceChildren("You are on the ", h("strong", {}, current.name || current.id), " plan.");
    } catch (error) {
      plans.replaceChildren(errorBox(error));
    }
  }

  body.append(
    h("p", { class: "account-current-plan" }, "Loading your plan…"),
    status,
    plans,
    h("p", { class: "subtle" }, "Payments are handled by Stripe: AICosts never sees your card. Prices in US dollars."),
  );
  return load();
}
