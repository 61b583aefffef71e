// Alerts page → Anomaly detection: whether AICosts watches for unusual daily spend (spikes, a new
// model, a key in use again), how sensitive it is, the smallest day worth an alert, and who hears
// of it. Part of Professional: on Free the section explains that instead of offering the form.

import { api } from "./api.js";
import { commaList, destinationChoices, flattenFieldErrors, isFree, isPlanRequired, planNote } from "./alerts-common.js";
import { errorBox, field, h, notice, onSubmit, toast } from "./ui.js";

const SENSITIVITY = [
  ["low", "Low: only large departures from the usual"],
  ["normal", "Normal"],
  ["high", "High: smaller departures too"],
];

function settingsForm(settings, state, onSaved) {
  const sensitivity = h("select", {}, SENSITIVITY.map(([v, label]) => h("option", { value: v, selected: settings.sensitivity === v }, label)));
  const form = h("form", { class: "anomaly-form", novalidate: true, "aria-labelledby": "anomalies-title" },
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "anomalies_enabled", checked: settings.anomalies_enabled }),
      " Watch for unusual spend"),
    h("div", { class: "budget-form-grid" },
      field({ label: "Sensitivity", name: "sensitivity", control: sensitivity }),
      field({ label: "Minimum per day (USD)", name: "min_usd", value: settings.min_usd || "", inputmode: "decimal", autocomplete: "off",
        hint: "Days below this amount never raise an alert." })),
    h("fieldset", { class: "budget-recipients" },
      h("legend", {}, "Who is told"),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "email_owner", checked: settings.email_owner }), " Email me"),
      field({ label: "More email addresses", name: "emails", value: (settings.emails || []).join(", "), autocomplete: "off", hint: "Comma-separated." }),
      destinationChoices(state.destinations(), new Set(settings.destination_ids || []))),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Save anomaly settings")),
  );
  onSubmit(form, async (data) => {
    try {
      const reply = await api.put("/v1/alert-settings", {
        anomalies_enabled: Boolean(data.get("anomalies_enabled")),
        sensitivity: sensitivity.value,
        min_usd: String(data.get("min_usd") || "").trim().replace(/^\$/, ""),
        email_owner: Boolean(data.get("email_owner")),
        emails: commaList(data.get("emails")),
        destination_ids: data.getAll("destination_ids").map(String),
      });
      toast("Anomaly settings saved.");
      onSaved(reply.settings);
    } catch (error) {
      throw flattenFieldErrors(error);
    }
  });
  return form;
}

// state: {account(), destinations()}; returns {load, redraw} so new destinations show as choices.
export function anomaliesSection(body, state) {
  const slot = h("div", {});
  let settings = null;
  const draw = () => {
    if (settings) slot.replaceChildren(settingsForm(settings, state, (fresh) => { settings = fresh; draw(); }));
  };
  const load = async () => {
    if (isFree(state.account())) {
      slot.replaceChildren(notice("info", "Anomaly detection is part of the Professional plan: it watches each day's spend and tells you about spikes, a model never used before, or a key in use again after a quiet spell. ",
        h("a", { href: "/settings#plan", "data-link": "" }, "See plans in Settings"), "."));
      return;
    }
    try {
      settings = (await api.get("/v1/alert-settings")).settings;
      draw();
    } catch (error) {
      slot.replaceChildren(isPlanRequired(error) ? planNote(error.message) : errorBox(error));
    }
  };
  body.append(h("h2", { id: "anomalies-title" }, "Anomaly detection"),
    h("p", { class: "subtle" }, "Compares each UTC day with your usual spend; days are judged once the providers report them."),
    slot);
  return { load: load(), redraw: draw };
}
