// Pieces the Alerts page's sections share: reading a plan-required refusal, the note that points
// to Settings → Plan, comma lists, field names of nested API errors, and the destination checkboxes
// that budgets and anomaly settings both offer.

import { h, notice } from "./ui.js";

// 403 plan-required: the API names it in the problem's type (…/plan-required) or its kind.
export function isPlanRequired(error) {
  const problem = error?.problem || {};
  return error?.status === 403 && (problem.kind === "plan-required" || /plan-required$/.test(String(problem.type || "")));
}

// The API's own sentence, then where to change the plan.
export function planNote(text) {
  return notice("info", h("span", { class: "plan-detail" }, text), " ",
    h("a", { href: "/settings#plan", "data-link": "" }, "See plans in Settings"), ".");
}

// "a@x.com, b@y.com" -> ["a@x.com", "b@y.com"]
export function commaList(value) {
  return String(value || "").split(",").map((s) => s.trim()).filter(Boolean);
}

// The API names nested fields as paths ("scope.platform", "thresholds[1]", "emails.0"); the forms
// name their inputs by the last word, so errors are moved next to the right input.
export function flattenFieldErrors(error) {
  for (const item of error.errors || []) {
    item.field = String(item.field || "").replace(/\[\d+\]$/, "").replace(/\.\d+$/, "").split(".").at(-1);
  }
  return error;
}

export function isFree(account) {
  return (account?.plan || "free") === "free";
}

// A fieldset of checkboxes, one per destination, named destination_ids; `checked` is a Set of ids.
export function destinationChoices(destinations, checked, legend = "Also send to") {
  if (!destinations.length) {
    return h("p", { class: "hint destination-none" }, "No webhook or Slack destination yet; add one under Destinations.");
  }
  return h("fieldset", { class: "destination-choices" },
    h("legend", {}, legend),
    destinations.map((d) => h("label", { class: "check" },
      h("input", { type: "checkbox", name: "destination_ids", value: d.id, checked: checked.has(d.id) }),
      ` ${d.name} `, h("span", { class: "subtle" }, `(${d.kind === "slack" ? "Slack" : "webhook"})`))),
  );
}
