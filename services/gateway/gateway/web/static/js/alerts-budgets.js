// Alerts page → Budgets: one card per budget (scope and period in words, a bar of spent against the
// amount with the projection and the thresholds marked, the sentences the API's status supports),
// and the form that creates or edits one. Amounts are the API's decimal strings; only the bar's
// geometry uses plain numbers.

import { ApiError, api } from "./api.js";
import { commaList, destinationChoices, flattenFieldErrors, isPlanRequired, planNote } from "./alerts-common.js";
import { longDay } from "./spend-data.js";
import { confirmDialog, errorBox, field, h, money, moneyExact, onSubmit, svg, toast } from "./ui.js";

const DEFAULT_THRESHOLDS = [50, 80, 100];
const SCOPE_KINDS = [
  ["account", "All spend"],
  ["platform", "One platform"],
  ["model", "One model"],
  ["credential", "One provider key"],
];
const dayMonth = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });

export function crossingDay(day) {
  return dayMonth.format(new Date(`${day}T00:00:00Z`));
}

// "All spend", "OpenAI", "OpenAI · gpt-4o", "Key 'prod'"
export function scopeWords(scope, platformNames, credentials) {
  const platform = (id) => platformNames.get(id) || id || "";
  switch (scope?.kind) {
    case "platform": return platform(scope.platform);
    case "model": return scope.platform ? `${platform(scope.platform)} · ${scope.model}` : scope.model;
    case "credential": {
      const key = credentials.find((c) => c.id === scope.credential_id);
      if (!key) return "A deleted key";
      return key.label ? `Key '${key.label}'` : `Key ····${key.last4}`;
    }
    default: return "All spend";
  }
}

function periodWords(budget) {
  const s = budget.status;
  const range = s?.period_start ? `${longDay(s.period_start)} – ${longDay(s.period_end)}` : "";
  if (budget.period === "custom") return `Custom period${range ? `: ${range}` : ""}`;
  return `Monthly${range ? ` (this period: ${range})` : ""}`;
}

// The bar: spent (filled), the projection (a marker), thresholds (ticks) and the amount (a line
// when the projection or spend runs past it). Values also appear as text beside it.
function budgetBar(budget) {
  const amount = Number(budget.amount_usd) || 0;
  const spent = Number(budget.status?.spent_usd || 0);
  const projected = Number(budget.status?.projected_usd || 0);
  // A projection far past the amount would squeeze the rest; past 1.5× it sits at the right end.
  const scale = Math.max(amount, spent, Math.min(projected, amount * 1.5)) || 1;
  const x = (v) => Math.max(0, Math.min(100, (v / scale) * 100)).toFixed(2);
  const over = spent > amount;
  const parts = [
    svg("rect", { class: "budget-track", x: 0, y: 4, width: 100, height: 12, rx: 2 }),
    svg("rect", { class: `budget-fill${over ? " over" : ""}`, x: 0, y: 4, width: x(spent), height: 12, rx: 2 }),
  ];
  for (const t of budget.thresholds || []) {
    parts.push(svg("rect", { class: "budget-tick", x: x((amount * t) / 100), y: 2, width: 0.5, height: 16 }));
  }
  if (scale > amount) parts.push(svg("rect", { class: "budget-limit", x: x(amount), y: 0, width: 0.8, height: 20 }));
  if (budget.status?.projected_usd) {
    parts.push(svg("rect", { class: "budget-projection", x: Math.min(99, Number(x(projected))).toFixed(2), y: 0, width: 1, height: 20 }));
  }
  return svg("svg", { class: "budget-bar", viewBox: "0 0 100 20", preserveAspectRatio: "none", "aria-hidden": "true", focusable: "false" }, parts);
}

function budgetCard(budget, view, actions) {
  const s = budget.status || {};
  const headingId = `budget-${budget.id}`;
  const crossed = s.crossed || [];
  const error = h("div", { class: "budget-action-error" });
  const edit = h("button", { type: "button", "aria-describedby": headingId, onclick: () => actions.edit(budget) }, "Edit");
  const remove = h("button", { type: "button", class: "danger", "aria-describedby": headingId }, "Delete");
  remove.addEventListener("click", async () => {
    const ok = await confirmDialog(`Delete the budget “${budget.name}”?`,
      "Its alerts already sent stay in the history; no new ones are sent for it.", "Delete budget");
    if (!ok) return;
    remove.disabled = true;
    try {
      await api.del(`/v1/budgets/${budget.id}`);
      toast(`Budget “${budget.name}” deleted.`);
      await actions.changed();
    } catch (err) {
      error.replaceChildren(errorBox(err));
      remove.disabled = false;
    }
  });
  const pastAmount = Math.max(Number(s.spent_usd || 0), Number(s.projected_usd || 0)) > Number(budget.amount_usd);
  const legend = h("ul", { class: "budget-legend" },
    h("li", {}, h("span", { class: "key-swatch spent" }), "Spent"),
    pastAmount ? h("li", {}, h("span", { class: "key-swatch limit" }), "Budget") : null,
    s.projected_usd ? h("li", {}, h("span", { class: "key-swatch projection" }), "Projection") : null,
    h("li", {}, h("span", { class: "key-swatch tick" }), `Thresholds ${(budget.thresholds || []).map((t) => `${t}%`).join(", ") || "none"}`),
  );
  return h("li", { class: "card budget-card", dataset: { id: budget.id } },
    h("div", { class: "budget-head" },
      h("h3", { id: headingId }, budget.name),
      h("span", { class: "badge" }, scopeWords(budget.scope, view.platformNames, view.credentials())),
    ),
    h("p", { class: "subtle budget-period" }, periodWords(budget)),
    budgetBar(budget),
    legend,
    h("p", { class: "budget-spent" },
      h("strong", { title: moneyExact(s.spent_usd) }, money(s.spent_usd)), ` of ${money(budget.amount_usd)}`,
      s.percent_used !== undefined && s.percent_used !== null ? ` (${s.percent_used}%)` : ""),
    s.projected_usd
      ? h("p", { class: "budget-projected" }, `Projected ${money(s.projected_usd)}`,
        s.projected_low_usd && s.projected_high_usd ? ` (between ${money(s.projected_low_usd)} and ${money(s.projected_high_usd)})` : "")
      : null,
    s.projected_crossing ? h("p", { class: "budget-crossing" }, `Projected to exceed on ${crossingDay(s.projected_crossing)}`) : null,
    crossed.length
      ? h("p", { class: "budget-crossed" }, "Crossed: ", crossed.map((t) => h("span", { class: `badge ${t >= 100 ? "error" : "warn"}` }, `${t}%`)))
      : null,
    budget.muted_until ? h("p", { class: "subtle" }, `Alerts muted until ${new Date(budget.muted_until).toLocaleString()}.`) : null,
    error,
    h("div", { class: "row budget-actions" }, edit, remove),
  );
}

// --- the form ---------------------------------------------------------------------------------

function parseThresholds(text) {
  const parts = commaList(text);
  const values = parts.map((p) => Number(p.replace(/%$/, "")));
  if (values.some((v) => !Number.isInteger(v) || v <= 0)) {
    throw new ApiError(400, { detail: "Check the thresholds.", errors: [{ field: "thresholds", message: "Whole percentages separated by commas, e.g. 50, 80, 100." }] });
  }
  return values;
}

function budgetForm(budget, view, done) {
  const editing = Boolean(budget);
  const b = budget || {};
  const scope = b.scope || { kind: "account" };
  const platforms = view.platforms();
  const credentials = view.credentials();
  const kind = h("select", {}, SCOPE_KINDS.map(([v, label]) => h("option", { value: v, selected: scope.kind === v }, label)));
  const platform = h("select", {}, platforms.map((p) => h("option", { value: p.id, selected: scope.platform === p.id }, p.name)));
  const key = h("select", {}, credentials.length
    ? credentials.map((c) => h("option", { value: c.id, selected: scope.credential_id === c.id }, c.label ? `${c.label} (····${c.last4})` : `····${c.last4}`))
    : h("option", { value: "" }, "No key connected"));
  const period = h("select", {},
    h("option", { value: "monthly", selected: b.period !== "custom" }, "Every calendar month (UTC)"),
    h("option", { value: "custom", selected: b.period === "custom" }, "Custom dates"));
  const platformField = field({ label: "Platform", name: "platform", control: platform });
  const modelField = field({ label: "Model", name: "model", value: scope.model || "", maxlength: 200, autocomplete: "off", spellcheck: "false",
    hint: "As the breakdown shows it, e.g. gpt-4o." });
  const keyField = field({ label: "Provider key", name: "credential_id", control: key });
  const dates = h("div", { class: "budget-dates" },
    field({ label: "Start (UTC day)", name: "start_date", type: "date", value: b.start_date || "" }),
    field({ label: "End (UTC day)", name: "end_date", type: "date", value: b.end_date || "" }));
  const showScope = () => {
    platformField.hidden = !["platform", "model"].includes(kind.value);
    modelField.hidden = kind.value !== "model";
    keyField.hidden = kind.value !== "credential";
  };
  const showPeriod = () => { dates.hidden = period.value !== "custom"; };
  kind.addEventListener("change", showScope);
  period.addEventListener("change", showPeriod);
  const status = h("div", { class: "budget-form-status", "aria-live": "polite" });
  const thresholds = (b.thresholds || DEFAULT_THRESHOLDS).join(", ");
  const forecastOn = budget ? (b.forecast_thresholds || []).length > 0 : true;

  const form = h("form", { class: "budget-form", novalidate: true, "aria-labelledby": "budget-form-title" },
    h("h3", { id: "budget-form-title", tabindex: "-1" }, editing ? `Edit budget “${b.name}”` : "New budget"),
    status,
    h("div", { class: "budget-form-grid" },
      field({ label: "Name", name: "name", value: b.name || "", required: true, maxlength: 100, autocomplete: "off" }),
      field({ label: "Amount (USD)", name: "amount_usd", value: b.amount_usd || "", required: true, inputmode: "decimal", autocomplete: "off",
        hint: "For the whole period, e.g. 100.00." }),
      field({ label: "Period", name: "period", control: period }),
      dates,
      field({ label: "Scope", name: "kind", control: kind }),
      platformField, modelField, keyField,
      field({ label: "Thresholds (% of the amount)", name: "thresholds", value: thresholds, autocomplete: "off",
        hint: "Comma-separated; an alert is sent once per period when spend crosses each." }),
    ),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "forecast", checked: forecastOn }),
      " Also warn when the forecast exceeds the budget"),
    h("fieldset", { class: "budget-recipients" },
      h("legend", {}, "Who is told"),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "email_owner", checked: budget ? b.email_owner !== false : true }), " Email me"),
      field({ label: "More email addresses", name: "emails", value: (b.emails || []).join(", "), autocomplete: "off",
        hint: "Comma-separated." }),
      destinationChoices(view.destinations(), new Set(b.destination_ids || [])),
    ),
    h("div", { class: "row" },
      h("button", { type: "submit", class: "primary" }, editing ? "Save budget" : "Create budget"),
      h("button", { type: "button", onclick: () => done(null) }, "Cancel")),
  );
  showScope();
  showPeriod();

  onSubmit(form, async (data) => {
    status.replaceChildren();
    const scopeBody = { kind: kind.value };
    if (["platform", "model"].includes(kind.value)) scopeBody.platform = platform.value;
    if (kind.value === "model") scopeBody.model = String(data.get("model") || "").trim();
    if (kind.value === "credential") scopeBody.credential_id = key.value;
    const custom = period.value === "custom";
    const body = {
      name: String(data.get("name") || "").trim(),
      amount_usd: String(data.get("amount_usd") || "").trim().replace(/^\$/, "").replace(/,/g, ""),
      period: period.value,
      start_date: custom ? String(data.get("start_date") || "") || null : null,
      end_date: custom ? String(data.get("end_date") || "") || null : null,
      scope: scopeBody,
      thresholds: parseThresholds(data.get("thresholds")),
      forecast_thresholds: data.get("forecast") ? [100] : [],
      email_owner: Boolean(data.get("email_owner")),
      emails: commaList(data.get("emails")),
      destination_ids: data.getAll("destination_ids").map(String),
    };
    try {
      const reply = editing ? await api.patch(`/v1/budgets/${b.id}`, body) : await api.post("/v1/budgets", body);
      toast(editing ? `Budget “${reply.budget.name}” saved.` : `Budget “${reply.budget.name}” created.`);
      done(reply.budget);
    } catch (error) {
      if (isPlanRequired(error)) {
        status.replaceChildren(planNote(error.message));
        return;
      }
      throw flattenFieldErrors(error);
    }
  });
  return form;
}

// The section: list + "New budget"; view = {platforms(), platformNames, credentials(), destinations()}.
export function budgetsSection(body, view) {
  const list = h("ul", { class: "budget-list" });
  const formSlot = h("div", { class: "budget-form-slot" });
  const listError = h("div", {});
  const add = h("button", { type: "button", class: "primary", id: "new-budget", "aria-expanded": "false" }, "New budget");

  const closeForm = () => {
    formSlot.replaceChildren();
    add.setAttribute("aria-expanded", "false");
  };
  const openForm = (budget) => {
    const form = budgetForm(budget, view, async (saved) => {
      closeForm();
      if (saved) await load();
      add.focus();
    });
    formSlot.replaceChildren(h("div", { class: "card budget-form-card" }, form));
    add.setAttribute("aria-expanded", String(!budget));
    form.querySelector("h3").focus();
    form.scrollIntoView({ block: "nearest" });
  };
  add.addEventListener("click", () => (formSlot.firstChild ? closeForm() : openForm(null)));
  const actions = { edit: openForm, changed: () => load() };

  async function load() {
    try {
      const reply = await api.get("/v1/budgets");
      listError.replaceChildren();
      const items = reply.items || [];
      list.replaceChildren(...items.map((b) => budgetCard(b, view, actions)));
      if (!items.length) {
        list.append(h("li", { class: "budget-empty subtle" },
          "No budget yet. A budget sends an email (and, on Professional, a webhook or Slack message) when spend crosses its thresholds."));
      }
    } catch (error) {
      listError.replaceChildren(errorBox(error));
    }
  }

  body.append(h("div", { class: "section-head" }, h("h2", { id: "budgets-title" }, "Budgets"), add), listError, formSlot, list);
  return load();
}
