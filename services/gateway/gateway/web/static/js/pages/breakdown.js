// Breakdown: the account's spend grouped by platform, model, day, source, key, or the provider's
// own project or API key over a date range, narrowed by removable filter chips, with unit totals in each provider's own units. The
// whole state (group, range, filters) lives in the URL query, so reload and back/forward work.

import { ApiError, api, download } from "../api.js";
import {
  RANGES,
  dayRange,
  decimalCompare,
  earliestDay,
  flagBadges,
  historyDays,
  loadCatalogs,
  plan,
  platformName,
  rangeFrom,
  setRangeParams,
  unitCell,
} from "../spend-data.js";
import { clear, errorBox, field, h, integer, money, moneyExact, pageHead, percent, utcDay } from "../ui.js";

export const title = "Breakdown";

// URL name -> API field and words.
const GROUPS = {
  platform: { api: "platform", label: "Platform" },
  model: { api: "model", label: "Model" },
  day: { api: "day", label: "Day (UTC)" },
  source: { api: "source", label: "Source" },
  key: { api: "credential_id", label: "Key" },
  project: { api: "project", label: "Project" },
  api_key: { api: "api_key", label: "Provider API key" },
};
// The provider's attribution: "" is the money it does not attribute; names come with the groups.
const ATTRIBUTION = new Set(["project", "api_key"]);
const FILTERS = {
  platform: { api: "platform", label: "Platform" },
  model: { api: "model", label: "Model" },
  source: { api: "source", label: "Source", single: true },
  key: { api: "credential_id", label: "Key" },
  project: { api: "project", label: "Project" },
  api_key: { api: "api_key", label: "Provider API key" },
};
const SOURCES = { api: "Synced by API key", file: "Billing file" };

function readState(params, history, today) {
  const group = GROUPS[params.get("group")] ? params.get("group") : "model";
  const filters = [];
  for (const name of Object.keys(FILTERS)) {
    const seen = new Set();
    for (const value of params.getAll(name)) {
      if (seen.has(value) || (name === "source" && !SOURCES[value])) continue;
      if (name !== "key" && !ATTRIBUTION.has(name) && !value) continue;
      seen.add(value);
      filters.push({ name, value });
      if (FILTERS[name].single) break;
    }
  }
  return { group, filters, range: rangeFrom(params, history, today) };
}

function writeState(state) {
  const query = new URLSearchParams();
  query.set("group", state.group);
  setRangeParams(query, state.range);
  for (const f of state.filters) query.append(f.name, f.value);
  return query;
}

// The API query for a state: filters of the same field are OR-ed (lists), fields AND-ed.
function apiQuery(state, { except } = {}) {
  const query = { from: state.range.from, to: state.range.to };
  for (const f of state.filters) {
    if (f.name === except) continue;
    const key = FILTERS[f.name].api;
    if (FILTERS[f.name].single) query[key] = f.value;
    else (query[key] ||= []).push(f.value);
  }
  return query;
}

export async function render(main, ctx) {
  const today = utcDay();
  const loading = h("p", { class: "loading", role: "status" }, "Loading breakdown…");
  main.append(pageHead("Breakdown"), loading);

  const catalogP = loadCatalogs();
  const credentialsP = api.get("/v1/credentials");
  // Until the plan's history is known, read the URL's range as is (clipped below if needed).
  let state = readState(ctx.params, 366, today);
  const summaryP = api.get("/v1/usage/summary", { ...apiQuery(state), group_by: GROUPS[state.group].api });
  const [catalogR, credentialsR, summaryR] = await Promise.allSettled([catalogP, credentialsP, summaryP]);
  if (!loading.isConnected) return undefined;
  const catalog = catalogR.value || { platforms: new Map(), plans: new Map() };
  const history = historyDays(catalog, ctx.account.plan);
  const earliest = earliestDay(history, today);
  const credentials = credentialsR.value?.items || [];
  const keyNames = new Map(credentials.map((c) => [c.id, c.label || `${platformName(catalog, c.platform)} ····${c.last4}`]));
  let first = summaryR;
  if (state.range.from < earliest) {
    state = readState(ctx.params, history, today);
    first = (await Promise.allSettled([api.get("/v1/usage/summary", { ...apiQuery(state), group_by: GROUPS[state.group].api })]))[0];
    if (!loading.isConnected) return undefined;
  }

  // The provider's names of its project and key ids, as the summaries give them (newest wins).
  const providerNames = { project: new Map(), api_key: new Map() };
  const learnNames = (groups) => {
    for (const g of groups || []) {
      for (const name of ATTRIBUTION) if (g[`${name}_name`]) providerNames[name].set(g[name], g[`${name}_name`]);
    }
  };
  if (first.status === "fulfilled") learnNames(first.value.groups);
  // A tooltip with the provider's id for project and key values (the cell shows the name).
  const idTitle = (name, value) => (ATTRIBUTION.has(name) && value ? `${GROUPS[name].label} id: ${value}` : undefined);

  const valueName = (name, value) => {
    if (ATTRIBUTION.has(name)) return value === "" ? "Unattributed" : providerNames[name].get(value) || value;
    if (name === "platform") return platformName(catalog, value);
    if (name === "key") return value === "" ? "Billing files" : keyNames.get(value) || `Deleted key ${value.slice(0, 8)}`;
    if (name === "source") return SOURCES[value] || value;
    if (name === "model") return value || "(none)";
    return value;
  };

  // --- actions that change the state: a new history entry, then the results again ---
  let seq = 0;
  const results = h("section", { class: "card", "aria-labelledby": "results-title", "aria-live": "polite" });
  const controls = h("section", { class: "card", "aria-label": "Grouping, range and filters" });

  function go(next) {
    state = { ...state, ...next };
    const query = writeState(state);
    ctx.setUrl(`${window.location.pathname}?${query}`, { push: true });
    drawControls();
    load();
  }

  async function load(initial) {
    const mine = ++seq;
    results.setAttribute("aria-busy", "true");
    const outcome = initial || (await Promise.allSettled([
      api.get("/v1/usage/summary", { ...apiQuery(state), group_by: GROUPS[state.group].api }),
    ]))[0];
    if (mine !== seq || !results.isConnected) return;
    results.removeAttribute("aria-busy");
    drawResults(outcome);
  }

  // --- controls: group by, range, filters ---
  function drawControls() {
    const groupSelect = h("select", { onchange: (e) => go({ group: e.target.value }) },
      Object.entries(GROUPS).map(([name, g]) => h("option", { value: name, selected: name === state.group }, g.label)));
    const rangeSelect = h("select", { onchange: (e) => {
      if (e.target.value === "custom") {
        custom.hidden = false;
        custom.querySelector("input").focus();
        return;
      }
      go({ range: rangeFrom(new URLSearchParams({ range: e.target.value }), history, today) });
    } }, RANGES.map(([key, label]) => h("option", { value: key, selected: key === state.range.range }, label)));
    const from = h("input", { type: "date", name: "from", value: state.range.from, min: earliest, max: today, required: true });
    const to = h("input", { type: "date", name: "to", value: state.range.to, min: earliest, max: today, required: true });
    const custom = h("form", { class: "custom-range row", hidden: state.range.range !== "custom", "aria-label": "Custom range" },
      field({ label: "From (UTC)", name: "from", control: from }),
      field({ label: "To (UTC)", name: "to", control: to }),
      h("button", { type: "submit", class: "primary" }, "Apply"));
    custom.addEventListener("submit", (event) => {
      event.preventDefault();
      go({ range: rangeFrom(new URLSearchParams({ range: "custom", from: from.value, to: to.value }), history, today) });
    });

    const chips = h("div", { class: "filters", role: "list", "aria-label": "Filters" },
      state.filters.length ? state.filters.map((f, i) => {
        const text = `${FILTERS[f.name].label}: ${valueName(f.name, f.value)}`;
        return h("span", { class: "chip", role: "listitem" },
          h("span", { class: "chip-field" }, `${FILTERS[f.name].label}:`), h("span", { class: "chip-value", title: idTitle(f.name, f.value) }, valueName(f.name, f.value)),
          h("button", { type: "button", "aria-label": `Remove filter ${text}`, title: "Remove this filter", onclick: () => go({ filters: state.filters.filter((_, j) => j !== i) }) }, "×"));
      }) : h("span", { class: "subtle", role: "listitem" }, "No filters: everything in the range. Click a value in the table, or add a filter here."));

    const fieldSelect = h("select", {}, h("option", { value: "" }, "Choose…"),
      Object.entries(FILTERS).map(([name, f]) => h("option", { value: name }, f.label)));
    const valueSelect = h("select", { disabled: true }, h("option", { value: "" }, "Choose a field first"));
    const addButton = h("button", { type: "submit", disabled: true }, "Add filter");
    const addForm = h("form", { class: "add-filter", "aria-label": "Add a filter" },
      field({ label: "Filter on", name: "filter_field", control: fieldSelect }),
      field({ label: "Value", name: "filter_value", control: valueSelect }),
      addButton);
    fieldSelect.addEventListener("change", async () => {
      const name = fieldSelect.value;
      clear(valueSelect);
      valueSelect.disabled = true;
      addButton.disabled = true;
      if (!name) {
        valueSelect.append(h("option", { value: "" }, "Choose a field first"));
        return;
      }
      valueSelect.append(h("option", { value: "" }, "Loading…"));
      let values;
      try {
        values = await filterValues(name);
      } catch (error) {
        clear(valueSelect).append(h("option", { value: "" }, "Could not load values"));
        addForm.querySelector(".alert")?.remove();
        addForm.append(errorBox(error));
        return;
      }
      if (fieldSelect.value !== name) return;
      const taken = new Set(state.filters.filter((f) => f.name === name).map((f) => f.value));
      const free = values.filter((v) => !taken.has(v));
      clear(valueSelect).append(...(free.length
        ? free.map((v) => h("option", { value: v }, valueName(name, v)))
        : [h("option", { value: "" }, "No other values in this range")]));
      valueSelect.disabled = !free.length;
      addButton.disabled = !free.length;
    });
    addForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!fieldSelect.value || valueSelect.disabled) return;
      addFilter(fieldSelect.value, valueSelect.value);
    });

    clear(controls).append(
      h("div", { class: "breakdown-controls" },
        field({ label: "Group by", name: "group", control: groupSelect }),
        field({ label: "Date range (UTC days)", name: "range", control: rangeSelect, hint: dayRange(state.range.from, state.range.to) })),
      custom,
      h("div", { class: "filter-bar" },
        h("div", { class: "filter-current" }, h("h2", { class: "filter-title" }, "Filters"), chips),
        addForm),
    );
  }

  async function filterValues(name) {
    if (name === "source") return Object.keys(SOURCES);
    const apiField = FILTERS[name].api;
    const answer = await api.get("/v1/usage/summary", { ...apiQuery(state, { except: name }), group_by: apiField });
    learnNames(answer.groups);
    const values = answer.groups.map((g) => g[apiField]);
    if (name === "key") for (const c of credentials) if (!values.includes(c.id)) values.push(c.id);
    return values;
  }

  function addFilter(name, value) {
    if (state.filters.some((f) => f.name === name && f.value === value)) return;
    const kept = FILTERS[name].single ? state.filters.filter((f) => f.name !== name) : state.filters;
    go({ filters: [...kept, { name, value }] });
  }

  // --- results ---
  function drawResults(outcome) {
    clear(results);
    const groupInfo = GROUPS[state.group];
    results.append(h("div", { class: "section-head" }, h("h2", { id: "results-title" }, `Spend by ${groupInfo.label.replace(" (UTC)", "").toLowerCase()}`)));
    if (outcome.status !== "fulfilled") {
      results.append(errorBox(outcome.reason));
      return;
    }
    const summary = outcome.value;
    learnNames(summary.groups);
    results.append(h("p", { class: "range-total" },
      h("span", { class: "label" }, "Total "),
      h("strong", { class: "amount", title: moneyExact(summary.total_cost_usd) }, money(summary.total_cost_usd)),
      ` · ${integer(summary.records)} record${summary.records === 1 ? "" : "s"} · ${dayRange(summary.from, summary.to)} (UTC)`));
    if (!summary.groups.length) {
      results.append(h("p", { class: "chart-empty" }, state.filters.length
        ? "Nothing matches these filters in this range. Remove a filter or choose a longer range."
        : h("span", {}, "No usage in this range yet. ", h("a", { href: "/keys", "data-link": "" }, "Connect a key"), " or ", h("a", { href: "/uploads", "data-link": "" }, "upload a billing file"), ".")));
      return;
    }
    const apiField = groupInfo.api;
    const groups = [...summary.groups];
    if (state.group === "day") groups.sort((a, b) => (a.day < b.day ? 1 : -1));
    else groups.sort((a, b) => decimalCompare(b.cost_usd, a.cost_usd) || String(a[apiField]).localeCompare(String(b[apiField])));
    const total = Number(summary.total_cost_usd);
    const filterName = { platform: "platform", model: "model", source: "source", credential_id: "key", project: "project", api_key: "api_key" }[apiField];

    const rows = groups.map((g) => {
      const raw = g[apiField];
      const shown = state.group === "day" ? raw : valueName(state.group, raw);
      const action = state.group === "day"
        ? h("button", { type: "button", class: "link", "aria-label": `Show only ${raw}`, onclick: () => go({ range: { range: "custom", from: raw, to: raw, clipped: false } }) }, shown)
        : h("button", { type: "button", class: "link", title: idTitle(state.group, raw), "aria-label": `Filter by ${groupInfo.label.toLowerCase()} ${shown}`, onclick: () => addFilter(filterName, raw) }, shown);
      const share = total > 0 ? Number(g.cost_usd) / total : 0;
      return h("tr", { "data-value": raw },
        h("th", { scope: "row", class: "group-value", "data-label": groupInfo.label }, action),
        h("td", { class: "num", "data-label": "Cost", title: moneyExact(g.cost_usd) }, money(g.cost_usd)),
        h("td", { class: "num", "data-label": "Share" }, percent(share, 1)),
        h("td", { "data-label": "Units" }, unitCell(g.units)),
        h("td", { class: "num", "data-label": "Records" }, integer(g.records)),
        h("td", { class: "flags-cell", "data-label": "Marks" }, flagBadges(g), g.provisional || g.estimated ? "" : h("span", { class: "subtle" }, "—")));
    });
    results.append(
      h("div", { class: "table-wrap" }, h("table", { class: "breakdown-table" },
        h("caption", { class: "visually-hidden" }, `Spend by ${groupInfo.label}, ${dayRange(summary.from, summary.to)}`),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, groupInfo.label), h("th", { scope: "col", class: "num" }, "Cost"), h("th", { scope: "col", class: "num" }, "Share"),
          h("th", { scope: "col" }, "Units"), h("th", { scope: "col", class: "num" }, "Records"), h("th", { scope: "col" }, "Marks"))),
        h("tbody", {}, rows),
        h("tfoot", {}, h("tr", {},
          h("th", { scope: "row", "data-label": "" }, "Total"),
          h("td", { class: "num", "data-label": "Cost", title: moneyExact(summary.total_cost_usd) }, money(summary.total_cost_usd)),
          h("td", { class: "num", "data-label": "Share" }, "100%"),
          h("td", { "data-label": "Units" }, unitCell(summary.units)),
          h("td", { class: "num", "data-label": "Records" }, integer(summary.records)),
          h("td", { class: "flags-cell", "data-label": "Marks" }, flagBadges(summary)))))),
      h("p", { class: "legend-flags" },
        h("span", {}, h("span", { class: "badge warn" }, "estimated"), " cost computed from a price table, not reported by the provider"),
        h("span", {}, h("span", { class: "badge" }, "provisional"), " recent days the provider may still revise")),
    );
  }

  // --- export ---
  const accountPlan = plan(catalog, ctx.account.plan);
  const exportBox = h("div", { class: "export" });
  if (accountPlan?.csv_export) {
    const button = h("button", { type: "button", class: "primary", onclick: async () => {
      exportBox.querySelector(".alert")?.remove();
      button.disabled = true;
      try {
        await download("/v1/usage/export", { format: "csv", ...apiQuery(state) }, `aicosts-usage-${state.range.from}-to-${state.range.to}.csv`);
      } catch (error) {
        exportBox.append(errorBox(error instanceof ApiError ? error : new ApiError(0, { detail: String(error) })));
      } finally {
        button.disabled = false;
      }
    } }, "Export CSV");
    exportBox.append(button);
  } else {
    exportBox.append(h("p", { class: "subtle export-note" },
      "CSV export of these records is a Professional feature. ",
      h("a", { href: "/settings", "data-link": "" }, "Upgrade in Settings"), " to download them."));
  }

  clear(main).append(...[
    pageHead("Breakdown", exportBox),
    h("p", { class: "subtle page-note" }, "Amounts in US dollars; units in each provider's own units. Days are UTC days."),
    credentialsR.status === "rejected" ? errorBox(credentialsR.reason) : null,
    controls,
    results,
  ].filter(Boolean));
  drawControls();
  await load(first);
  return undefined;
}
