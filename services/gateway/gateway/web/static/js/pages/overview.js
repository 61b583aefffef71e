// Overview (the landing page): month-to-date spend against the same days of last month, the
// month-end forecast (GET /v1/usage/forecast, with a straight line as the fallback), the budgets'
// use, daily spend by platform for a chosen range, top models, and how fresh each connected key's
// data is. Every API call is issued at once.

import { api } from "../api.js";
import { stackedBarChart } from "../chart.js";
import {
  RANGES,
  dayRange,
  daysBetween,
  daysInMonth,
  decimalScale,
  earliestDay,
  flagBadges,
  historyDays,
  loadCatalogs,
  longDay,
  platformName,
  rangeFrom,
  setRangeParams,
} from "../spend-data.js";
import { addDays, ago, clear, emptyState, errorBox, h, localTime, money, moneyExact, notice, pageHead, percent, svg, timeZone, utcDay } from "../ui.js";

export const title = "Overview";

const TOP_MODELS = 5;
const FRESH_DAYS = 7; // how far back the freshness line looks for provisional days

function settled(result) {
  return result.status === "fulfilled" ? result.value : null;
}

function signedMoney(value) {
  const text = money(value);
  return text.startsWith("-") || /^\$0\.00$/.test(text) ? text : `+${text}`;
}

// --- month to date ---

const monthName = new Intl.DateTimeFormat("en", { month: "long", year: "numeric", timeZone: "UTC" });

function statCard(label, value, exact, ...rest) {
  return h("section", { class: "card stat", "aria-label": label },
    h("h2", { class: "label" }, label),
    h("div", { class: "value", title: exact }, value),
    ...rest);
}

// The API's forecast with its interval; when that call failed, the straight line, saying so.
function projectionCard(current, forecast) {
  if (forecast?.total) {
    const { total } = forecast;
    const month = monthName.format(new Date(`${forecast.period_start}T00:00:00Z`));
    return statCard(`Forecast for ${month}`, money(total.projected_usd), moneyExact(total.projected_usd),
      h("p", { class: "subtle forecast-range" }, `Likely between ${money(total.low_usd)} and ${money(total.high_usd)}`),
      h("p", { class: "subtle" }, `From daily spend up to ${longDay(forecast.as_of)} (UTC)`,
        total.method === "run_rate" ? ": a straight run rate, as under a week of spend is known yet. " : ". ",
        h("a", { href: "/alerts", "data-link": "" }, "Set a budget")));
  }
  const elapsed = Number(current.to.slice(8, 10));
  const monthDays = daysInMonth(current.to);
  const projected = decimalScale(current.cost_usd, monthDays, elapsed, 2);
  return statCard("Projected month-end", money(projected), moneyExact(projected),
    h("p", { class: "subtle projection-note" },
      h("strong", {}, "Straight-line projection "), "(the forecast could not be loaded): ",
      `month to date ÷ ${elapsed} day${elapsed === 1 ? "" : "s"} elapsed × ${monthDays} days in the month.`));
}

function monthCards(mtd, forecast) {
  const { current, previous } = mtd;
  const change = Number(mtd.change_usd);
  const direction = change > 0 ? "up" : change < 0 ? "down" : "flat";
  const ratio = mtd.change_ratio === null ? null : Number(mtd.change_ratio);

  return h("div", { class: "grid stats" },
    statCard("Month to date", money(current.cost_usd), moneyExact(current.cost_usd),
      h("p", { class: "subtle" }, `${dayRange(current.from, current.to)} (UTC)`),
      h("div", { class: "row flags" }, flagBadges(current))),
    statCard("Same days last month", money(previous.cost_usd), moneyExact(previous.cost_usd),
      h("p", { class: "subtle" }, `${dayRange(previous.from, previous.to)} (UTC)`),
      h("div", { class: "row flags" }, flagBadges(previous))),
    statCard("Change", h("span", { class: direction === "up" ? "up" : direction === "down" ? "down" : "" }, signedMoney(mtd.change_usd)), moneyExact(mtd.change_usd),
      h("p", { class: "subtle" },
        ratio === null
          ? "No spend in the same days last month to compare with."
          : `${direction === "flat" ? "No change" : `${direction === "up" ? "Up" : "Down"} ${percent(Math.abs(ratio), 1)}`} on the same days last month.`)),
    projectionCard(current, forecast),
  );
}

// --- budgets strip ---

function budgetStrip(budgets) {
  if (!budgets?.length) return null;
  return h("section", { class: "card budget-strip", "aria-labelledby": "strip-title" },
    h("h2", { id: "strip-title" }, "Budgets"),
    h("ul", {}, budgets.map((b) => {
      const pct = Number(b.status?.percent_used || 0);
      return h("li", {}, h("a", { href: "/alerts", "data-link": "" },
        h("span", {}, b.name), " ",
        h("span", { class: `pct${pct >= 100 ? " over" : pct >= 80 ? " warn" : ""}` }, `${b.status?.percent_used ?? "0"}%`)));
    })),
    h("a", { href: "/alerts", "data-link": "" }, "Alerts and budgets"));
}

// --- daily chart ---

function dailyChart(summary, range, catalog) {
  const days = [];
  for (let d = range.from; d <= range.to; d = addDays(d, 1)) days.push(d);
  const byPlatform = new Map();
  for (const g of summary.groups) {
    if (!byPlatform.has(g.platform)) byPlatform.set(g.platform, new Map());
    byPlatform.get(g.platform).set(g.day, g.cost_usd);
  }
  const series = [...byPlatform].map(([id, values]) => ({ id, name: platformName(catalog, id), values }));
  return stackedBarChart({ days, series, caption: `Daily spend by platform, ${dayRange(range.from, range.to)} (UTC)` });
}

function rangeControls(range, earliest, today, onChange) {
  const buttons = RANGES.map(([key, label]) =>
    h("button", { type: "button", "aria-pressed": String(range.range === key), "data-range": key, onclick: () => {
      if (key === "custom") {
        form.hidden = false;
        form.querySelector("input").focus();
        buttons.forEach((b) => b.setAttribute("aria-pressed", String(b === buttons.at(-1))));
        return;
      }
      onChange({ range: key });
    } }, label));
  const from = h("input", { type: "date", name: "from", id: "range-from", value: range.from, min: earliest, max: today, required: true });
  const to = h("input", { type: "date", name: "to", id: "range-to", value: range.to, min: earliest, max: today, required: true });
  const form = h("form", { class: "custom-range row", hidden: range.range !== "custom", "aria-label": "Custom range" },
    h("div", { class: "field" }, h("label", { for: "range-from" }, "From (UTC)"), from),
    h("div", { class: "field" }, h("label", { for: "range-to" }, "To (UTC)"), to),
    h("button", { type: "submit", class: "primary" }, "Show"),
    h("p", { class: "hint" }, `Your plan keeps ${daysBetween(earliest, today)} days of history (from ${earliest}).`),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onChange({ range: "custom", from: from.value, to: to.value });
  });
  return h("div", { class: "range-controls" },
    h("div", { class: "segmented", role: "group", "aria-label": "Date range" }, buttons),
    form);
}

// --- top models ---

function shareBar(ratio) {
  const width = Math.max(0, Math.min(100, ratio * 100));
  return svg("svg", { class: "share-bar", viewBox: "0 0 100 8", preserveAspectRatio: "none", "aria-hidden": "true", focusable: "false" },
    svg("rect", { class: "share-track", x: 0, y: 0, width: 100, height: 8, rx: 2 }),
    svg("rect", { class: "share-fill", x: 0, y: 0, width: width.toFixed(2), height: 8, rx: 2 }));
}

function topModels(summary, range) {
  const total = Number(summary.total_cost_usd);
  const rows = summary.groups.map((g) => {
    const share = total > 0 ? Number(g.cost_usd) / total : 0;
    const query = new URLSearchParams({ group: "model", model: g.model });
    setRangeParams(query, range);
    return h("tr", {},
      h("th", { scope: "row", class: "model-name" }, h("a", { href: `/breakdown?${query}`, "data-link": "" }, g.model || "(none)"), " ", flagBadges(g)),
      h("td", { class: "num", title: moneyExact(g.cost_usd) }, money(g.cost_usd)),
      h("td", { class: "share" }, h("span", { class: "share-cell" }, shareBar(share), h("span", { class: "num" }, percent(share, 1)))));
  });
  if (summary.others) {
    const share = total > 0 ? Number(summary.others.cost_usd) / total : 0;
    rows.push(h("tr", { class: "others" },
      h("th", { scope: "row" }, `Other models (${summary.others.groups})`),
      h("td", { class: "num", title: moneyExact(summary.others.cost_usd) }, money(summary.others.cost_usd)),
      h("td", { class: "share" }, h("span", { class: "share-cell" }, shareBar(share), h("span", { class: "num" }, percent(share, 1))))));
  }
  if (!rows.length) return h("p", { class: "subtle" }, "No model has spend in this range.");
  return h("div", { class: "table-wrap" }, h("table", { class: "top-models" },
    h("caption", { class: "visually-hidden" }, `Top models, ${dayRange(range.from, range.to)} (UTC)`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Model"), h("th", { scope: "col", class: "num" }, "Cost"), h("th", { scope: "col" }, "Share"))),
    h("tbody", {}, rows)));
}

// --- freshness per key ---

function freshness(credentials, recent, catalog, today) {
  if (!credentials.length) {
    return h("p", { class: "subtle" }, "No provider key is connected; the figures come from billing files. ",
      h("a", { href: "/keys", "data-link": "" }, "Connect a key"), " to sync every day.");
  }
  const provisional = new Map();
  for (const g of recent?.groups || []) {
    if (!g.provisional) continue;
    const days = provisional.get(g.credential_id) || new Set();
    days.add(g.day);
    provisional.set(g.credential_id, days);
  }
  return h("ul", { class: "freshness" }, credentials.map((c) => {
    const days = [...(provisional.get(c.id) || [])].sort();
    const back = days.length ? daysBetween(days[0], today) : 0;
    const status = c.status === "active" ? "ok" : c.status === "error" || c.status === "failed" ? "error" : "warn";
    return h("li", {},
      h("div", { class: "key-line" },
        h("span", { class: "key-name" }, c.label || `${platformName(catalog, c.platform)} key`),
        h("span", { class: "subtle" }, `${platformName(catalog, c.platform)} ····${c.last4}`),
        h("span", { class: `badge ${status}` }, c.status)),
      h("div", { class: "subtle" },
        c.last_sync_at
          ? h("span", { title: localTime(c.last_sync_at) }, `synced ${ago(c.last_sync_at)}`)
          : "not synced yet",
        days.length ? ` · provisional: last ${back} day${back === 1 ? "" : "s"} may change` : ""),
      c.status_message ? h("div", { class: "status-message" }, c.status_message) : null);
  }));
}

function teach() {
  return emptyState(
    "See what your team spends on AI",
    "Connect a provider's admin key (OpenAI, Anthropic, ElevenLabs, ...) and AICosts syncs its daily usage and costs, 90 days back to begin with. For other providers, upload a billing file (CSV or PDF invoice).",
    h("a", { class: "button primary", href: "/keys", "data-link": "" }, "Connect your first key"),
    h("a", { class: "button", href: "/uploads", "data-link": "" }, "Upload a billing file"),
  );
}

export async function render(main, ctx) {
  const today = utcDay();
  const params = new URLSearchParams(ctx.params);
  let range = rangeFrom(params, 366, today);
  let alive = true;
  let chart = null;

  const loading = h("p", { class: "loading", role: "status" }, "Loading spend…");
  main.append(pageHead("Overview"), loading);
  // Everything at once: the page waits for the slowest answer, not for their sum.
  const summaryOf = (query) => api.get("/v1/usage/summary", query);
  const loadRange = (r) => Promise.allSettled([
    summaryOf({ from: r.from, to: r.to, group_by: "day,platform" }),
    summaryOf({ from: r.from, to: r.to, group_by: "model", top: TOP_MODELS }),
  ]);
  const [settledAll, rangeResults] = await Promise.all([
    Promise.allSettled([
      api.get("/v1/usage/month-to-date"),
      api.get("/v1/credentials"),
      summaryOf({ from: addDays(today, -(FRESH_DAYS - 1)), to: today, group_by: "credential_id,day" }),
      loadCatalogs(),
      api.get("/v1/usage/forecast"),
      api.get("/v1/budgets"),
    ]),
    loadRange(range),
  ]);
  if (!loading.isConnected) return undefined; // the user went elsewhere meanwhile
  const [mtdResult, credsResult, recentResult, catalogResult, forecastResult, budgetsResult] = settledAll;
  const catalog = settled(catalogResult) || { platforms: new Map(), plans: new Map() };
  const earliest = earliestDay(historyDays(catalog, ctx.account.plan), today);
  let [dailyResult, modelsResult] = rangeResults;
  if (range.from < earliest) { // a URL from before a downgrade, or a hand-made one: the plan's history
    range = rangeFrom(params, historyDays(catalog, ctx.account.plan), today);
    [dailyResult, modelsResult] = await loadRange(range);
    if (!loading.isConnected) return undefined;
  }

  const mtd = settled(mtdResult);
  const credentials = settled(credsResult)?.items;
  const daily = settled(dailyResult);
  const noData = (s) => s && s.records === 0;
  clear(main);
  main.append(pageHead("Overview"));
  if (credentials && credentials.length === 0 && mtd && noData(mtd.current) && noData(mtd.previous) && noData(daily)) {
    main.append(teach());
    return undefined;
  }

  main.append(h("p", { class: "subtle page-note" }, `Amounts in US dollars. Days are UTC days; times are in your time zone (${timeZone()}).`));
  main.append(mtd ? monthCards(mtd, settled(forecastResult)) : errorBox(mtdResult.reason));
  const strip = budgetStrip(settled(budgetsResult)?.items);
  if (strip) main.append(strip);

  const chartBody = h("div", { class: "chart-body" });
  const modelsBody = h("div", {});
  const rangeHead = h("div", { class: "range-summary" });
  const controls = h("div", {});

  const drawRange = (dailySummary, dailyError, modelsSummary, modelsError) => {
    chart?.destroy?.();
    chart = null;
    clear(chartBody);
    clear(rangeHead);
    clear(modelsBody);
    clear(controls).append(rangeControls(range, earliest, today, change));
    if (dailySummary) {
      rangeHead.append(...[
        h("p", { class: "range-total" }, h("span", { class: "label" }, "Total "), h("strong", { class: "amount", title: moneyExact(dailySummary.total_cost_usd) }, money(dailySummary.total_cost_usd)), ` · ${dayRange(range.from, range.to)} (UTC)`),
        dailySummary.provisional ? h("p", { class: "subtle flag-note" }, flagBadges({ provisional: true }), " Includes recent days the providers may still revise.") : null,
        dailySummary.estimated ? h("p", { class: "subtle flag-note" }, flagBadges({ estimated: true }), " Includes costs estimated from a price table.") : null,
        range.clipped ? notice("info", `Shown from ${earliest}: your plan keeps ${daysBetween(earliest, today)} days of history.`) : null,
      ].filter(Boolean));
      if (dailySummary.groups.length) {
        chart = dailyChart(dailySummary, range, catalog);
        chartBody.append(chart);
      } else {
        chartBody.append(h("p", { class: "chart-empty" }, "No spend in this range. Try a longer range, or check the keys below."));
      }
    } else {
      chartBody.append(errorBox(dailyError));
    }
    modelsBody.append(modelsSummary ? topModels(modelsSummary, range) : errorBox(modelsError));
  };

  let seq = 0;
  async function change(next) {
    const mine = ++seq;
    const query = new URLSearchParams(window.location.search);
    setRangeParams(query, { from: range.from, to: range.to, ...next });
    range = rangeFrom(query, historyDays(catalog, ctx.account.plan), today);
    setRangeParams(query, range);
    ctx.setUrl(`${window.location.pathname}?${query}`);
    chartBody.setAttribute("aria-busy", "true");
    const [d, m] = await loadRange(range);
    if (!alive || mine !== seq) return;
    chartBody.removeAttribute("aria-busy");
    drawRange(settled(d), d.reason, settled(m), m.reason);
    controls.querySelector(`[data-range="${range.range}"]`)?.focus();
  }

  main.append(
    h("section", { class: "card", "aria-labelledby": "daily-title" },
      h("div", { class: "section-head" }, h("h2", { id: "daily-title" }, "Daily spend by platform"), controls),
      rangeHead, chartBody),
    h("div", { class: "grid two" },
      h("section", { class: "card", "aria-labelledby": "models-title" },
        h("div", { class: "section-head" }, h("h2", { id: "models-title" }, "Top models"), h("a", { href: "/breakdown?group=model", "data-link": "" }, "Full breakdown")),
        modelsBody),
      h("section", { class: "card", "aria-labelledby": "keys-title" },
        h("div", { class: "section-head" }, h("h2", { id: "keys-title" }, "Data freshness"), h("a", { href: "/keys", "data-link": "" }, "Manage keys")),
        credentials ? freshness(credentials, settled(recentResult), catalog, today) : errorBox(credsResult.reason))),
  );
  drawRange(daily, dailyResult.reason, settled(modelsResult), modelsResult.reason);

  return () => {
    alive = false;
    chart?.destroy?.();
  };
}
