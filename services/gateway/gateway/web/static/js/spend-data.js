// What the overview and breakdown pages share: exact decimal sums of the API's money strings,
// UTC date ranges, unit formatting in each provider's own units, and the public catalogs
// (platform names, plan limits) fetched once per page load.

import { api } from "./api.js";
import { addDays, compact, h, integer, utcDay } from "./ui.js";

// --- exact decimals (money arrives as decimal strings; sums must not go through floats) ---

function parseDecimal(text) {
  const value = String(text ?? "0").trim() || "0";
  const negative = value.startsWith("-");
  const [whole, frac = ""] = value.replace(/^[-+]/, "").split(".");
  const digits = BigInt((whole || "0") + frac || "0");
  return { units: negative ? -digits : digits, scale: frac.length };
}

function rescale(d, scale) {
  return d.units * 10n ** BigInt(scale - d.scale);
}

function format(units, scale) {
  const negative = units < 0n;
  const text = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = scale ? text.slice(0, -scale) : text;
  const frac = scale ? text.slice(-scale).replace(/0+$/, "") : "";
  return `${negative ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}

// decimalSum(["1.10", "2.005"]) -> "3.105"
export function decimalSum(values) {
  const parsed = values.map(parseDecimal);
  const scale = Math.max(0, ...parsed.map((d) => d.scale));
  return format(parsed.reduce((sum, d) => sum + rescale(d, scale), 0n), scale);
}

export function decimalCompare(a, b) {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const scale = Math.max(x.scale, y.scale);
  const diff = rescale(x, scale) - rescale(y, scale);
  return diff > 0n ? 1 : diff < 0n ? -1 : 0;
}

// value × numerator ÷ denominator, rounded half away from zero to `places` decimals.
export function decimalScale(value, numerator, denominator, places = 2) {
  const d = parseDecimal(value);
  const scaled = d.units * BigInt(numerator) * 10n ** BigInt(places);
  const divisor = BigInt(denominator) * 10n ** BigInt(d.scale);
  const negative = scaled < 0n;
  const magnitude = negative ? -scaled : scaled;
  let quotient = magnitude / divisor;
  if ((magnitude % divisor) * 2n >= divisor) quotient += 1n;
  return format(negative ? -quotient : quotient, places);
}

// --- UTC ranges ---

export const RANGES = [
  ["7d", "7 days"],
  ["30d", "30 days"],
  ["90d", "90 days"],
  ["mtd", "Month to date"],
  ["last", "Last month"],
  ["custom", "Custom"],
];
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function monthStart(day) {
  return `${day.slice(0, 7)}-01`;
}

export function daysInMonth(day) {
  const [y, m] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

export function daysBetween(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86400000) + 1;
}

// The first day a plan lets the account see (history_days counts today).
export function earliestDay(historyDays, today = utcDay()) {
  return addDays(today, -(Math.max(1, historyDays) - 1));
}

// {range, from, to} from a query string; unknown or out-of-history values fall back to 30 days.
export function rangeFrom(params, historyDays, today = utcDay()) {
  const earliest = earliestDay(historyDays, today);
  const key = params.get("range") || "30d";
  const fixed = {
    "7d": [addDays(today, -6), today],
    "30d": [addDays(today, -29), today],
    "90d": [addDays(today, -89), today],
    mtd: [monthStart(today), today],
    last: [monthStart(addDays(monthStart(today), -1)), addDays(monthStart(today), -1)],
  };
  if (key === "custom") {
    let from = params.get("from") || "";
    let to = params.get("to") || "";
    if (DAY.test(from) && DAY.test(to)) {
      if (from > to) [from, to] = [to, from];
      if (to > today) to = today;
      if (from < earliest) from = earliest;
      if (from <= to) return { range: "custom", from, to, clipped: from !== params.get("from") };
    }
  }
  const [from, to] = fixed[key] || fixed["30d"];
  return { range: fixed[key] ? key : "30d", from: from < earliest ? earliest : from, to, clipped: from < earliest };
}

export function setRangeParams(params, { range, from, to }) {
  params.set("range", range);
  if (range === "custom") {
    params.set("from", from);
    params.set("to", to);
  } else {
    params.delete("from");
    params.delete("to");
  }
}

const dayFormat = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", timeZone: "UTC" });
const dayYearFormat = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", year: "numeric", timeZone: "UTC" });

export function shortDay(day) {
  return dayFormat.format(new Date(`${day}T00:00:00Z`));
}

export function longDay(day) {
  return dayYearFormat.format(new Date(`${day}T00:00:00Z`));
}

export function dayRange(from, to) {
  if (from === to) return longDay(from);
  return from.slice(0, 4) === to.slice(0, 4) ? `${shortDay(from)} – ${longDay(to)}` : `${longDay(from)} – ${longDay(to)}`;
}

// --- units, in each provider's own units ---

// The usage service's unit names (services/common/svccommon/units.py, docs/providers.md). The
// additive token units never overlap, so they add up to every token billed; the detail units are
// parts of one of them and are only shown, never added.
const TOKEN_GROUPS = [
  ["input", ["input_uncached_tokens", "input_unsplit_tokens"]],
  ["cached", ["cache_read_tokens"]],
  ["cache write", ["cache_write_tokens"]],
  ["output", ["output_tokens"]],
];
const TOKEN_DETAILS = {
  reasoning_tokens: "reasoning",
  input_audio_tokens: "audio in",
  output_audio_tokens: "audio out",
  input_image_tokens: "image in",
  output_image_tokens: "image out",
};
const OTHER_UNITS = {
  characters: "characters",
  credits: "credits",
  seconds: "seconds",
  agent_seconds: "agent seconds",
  requests: "requests",
  images: "images",
  web_search_calls: "web searches",
  file_search_calls: "file searches",
  code_interpreter_sessions: "code interpreter sessions",
  operations: "operations",
  vector_store_bytes: "bytes stored",
};

// units {input_uncached_tokens: 1200000, output_tokens: 5, requests: 3} -> [{kind, text, detail, title}]
export function unitLines(units = {}) {
  const lines = [];
  const groups = TOKEN_GROUPS.map(([label, keys]) => [label, keys.reduce((sum, key) => sum + Number(units[key] || 0), 0)])
    .filter(([, value]) => value);
  const details = Object.entries(TOKEN_DETAILS).filter(([key]) => units[key]);
  if (groups.length) {
    const total = groups.reduce((sum, [, value]) => sum + value, 0);
    lines.push({
      kind: "tokens",
      text: `${compact(total)} tokens`,
      detail: groups.map(([label, value]) => `${compact(value)} ${label}`).join(" · "),
      title: [...groups.map(([label, value]) => `${label}: ${integer(value)}`),
        ...details.map(([key, label]) => `of which ${label}: ${integer(units[key])}`)].join(", "),
    });
  }
  const known = new Set([...TOKEN_GROUPS.flatMap(([, keys]) => keys), ...Object.keys(TOKEN_DETAILS)]);
  for (const [key, value] of Object.entries(units)) {
    if (known.has(key) || !value) continue;
    const label = OTHER_UNITS[key] || key.replaceAll("_", " ");
    lines.push({ kind: key, text: `${compact(value)} ${label}`, detail: "", title: `${label}: ${integer(value)}` });
  }
  return lines;
}

export function unitCell(units) {
  const lines = unitLines(units);
  if (!lines.length) return h("span", { class: "subtle" }, "—");
  return h("ul", { class: "units" }, lines.map((line) =>
    h("li", { title: line.title }, h("span", { class: "unit-main" }, line.text), line.detail ? h("span", { class: "unit-detail" }, line.detail) : null),
  ));
}

// Badges with words: "estimated" (priced from a table) and "provisional" (the provider may revise).
export function flagBadges(item) {
  return [
    item.estimated ? h("span", { class: "badge warn", title: "Computed from a price table, not reported by the provider" }, "estimated") : null,
    item.provisional ? h("span", { class: "badge", title: "Recent days the provider may still revise" }, "provisional") : null,
  ];
}

// --- public catalogs, once per page load ---

let catalogs = null;

export function loadCatalogs() {
  if (!catalogs) {
    catalogs = Promise.all([
      api.get("/v1/platforms").catch(() => ({ items: [] })),
      api.get("/v1/billing/plans").catch(() => ({ items: [] })),
    ]).then(([platforms, plans]) => ({
      platforms: new Map(platforms.items.map((p) => [p.id, p.name])),
      plans: new Map(plans.items.map((p) => [p.id, p])),
    }));
    catalogs.catch(() => { catalogs = null; });
  }
  return catalogs;
}

export function platformName(catalog, id) {
  return catalog.platforms.get(id) || id || "(unknown)";
}

// The plan's history in days; a plan the catalog does not know gets the smallest listed.
export function historyDays(catalog, planId) {
  const plan = catalog.plans.get(planId);
  if (plan) return plan.history_days;
  const all = [...catalog.plans.values()].map((p) => p.history_days);
  return all.length ? Math.min(...all) : 90;
}

export function plan(catalog, planId) {
  return catalog.plans.get(planId) || null;
}
