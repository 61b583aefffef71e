// A stacked bar chart in SVG (no library): one bar per UTC day, one segment per series, y ticks in
// money, thinned day labels, a legend with totals as text, a <title> per segment for hover, and the
// same numbers as a real table. The SVG's viewBox follows the container's width in CSS pixels, so
// its text keeps its size from 375 px phones to desktops (it is redrawn when the width changes).

import { clear, h, money, svg } from "./ui.js";
import { decimalSum, longDay, shortDay } from "./spend-data.js";

const MAX_SERIES = 8; // the --series-1..8 palette; beyond it the smallest are summed into "Other"
const MARGIN = { top: 12, right: 8, bottom: 28, left: 60 };

// Pixel-friendly step for about `count` ticks up to `max`.
function niceStep(max, count) {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 2.5 ? 2.5 : unit <= 5 ? 5 : 10) * power;
}

function tickLabel(value, step) {
  if (value === 0) return "$0";
  if (value >= 1000) {
    const digits = Number.isInteger(step / 1000) ? 0 : 1;
    return `$${new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: digits }).format(value)}`;
  }
  let places = 0;
  while (places < 3 && !Number.isInteger(Math.round(step * 10 ** places * 1e6) / 1e6)) places += 1;
  return `$${value.toFixed(places)}`;
}

// series: [{id, name, values: Map(day -> decimal string)}] in any order.
// Returns series sorted by total (largest first), at most MAX_SERIES, each with its total and
// palette index; the rest summed into one "Other" series.
export function prepareSeries(series, days) {
  const withTotals = series
    .map((s) => ({ ...s, total: decimalSum(days.map((d) => s.values.get(d) || "0")) }))
    .sort((a, b) => Number(b.total) - Number(a.total) || a.name.localeCompare(b.name));
  if (withTotals.length <= MAX_SERIES) return withTotals.map((s, i) => ({ ...s, palette: i + 1 }));
  const kept = withTotals.slice(0, MAX_SERIES - 1).map((s, i) => ({ ...s, palette: i + 1 }));
  const rest = withTotals.slice(MAX_SERIES - 1);
  const values = new Map(days.map((d) => [d, decimalSum(rest.map((s) => s.values.get(d) || "0"))]));
  const name = `Other (${rest.length} more)`;
  return [...kept, { id: "other", name, values, total: decimalSum(rest.map((s) => s.total)), palette: MAX_SERIES }];
}

function draw(host, width, { days, series, dayTotals, label }) {
  const compactView = width < 520;
  const height = compactView ? 220 : 280;
  const margin = { ...MARGIN, left: compactView ? 48 : MARGIN.left };
  const plotW = Math.max(10, width - margin.left - margin.right);
  const plotH = height - margin.top - margin.bottom;
  const max = Math.max(0, ...days.map((d) => Number(dayTotals.get(d) || 0)));
  const step = max > 0 ? niceStep(max, compactView ? 3 : 4) : 1;
  const top = max > 0 ? Math.ceil(max / step) * step : 1;
  const y = (v) => margin.top + plotH - (v / top) * plotH;
  const slot = plotW / days.length;
  const barW = Math.max(1, Math.min(48, slot * (days.length > 60 ? 0.8 : 0.68)));

  const chart = svg("svg", {
    class: "chart-svg",
    viewBox: `0 0 ${width} ${height}`,
    width: "100%",
    height,
    role: "img",
    "aria-label": label,
    preserveAspectRatio: "none",
  });
  const grid = svg("g", { class: "chart-grid", "aria-hidden": "true" });
  for (let v = 0; v <= top + step / 1000; v += step) {
    const yy = Math.round(y(v)) + 0.5;
    grid.append(
      svg("line", { x1: margin.left, x2: width - margin.right, y1: yy, y2: yy }),
      svg("text", { x: margin.left - 6, y: yy, "text-anchor": "end", "dominant-baseline": "middle", class: "chart-tick" }, tickLabel(v, step)),
    );
  }
  chart.append(grid);

  const bars = svg("g", { class: "chart-bars" });
  days.forEach((day, i) => {
    const total = dayTotals.get(day);
    if (!total || Number(total) === 0) return;
    const x = margin.left + i * slot + (slot - barW) / 2;
    const group = svg("g", { class: "chart-day", "data-day": day });
    let base = 0;
    for (const s of series) {
      const value = s.values.get(day);
      const amount = Number(value || 0);
      if (!amount) continue;
      const y0 = y(base);
      const y1 = y(base + amount);
      base += amount;
      group.append(svg("rect", {
        class: `series-${s.palette}`,
        x: x.toFixed(2),
        y: y1.toFixed(2),
        width: barW.toFixed(2),
        height: Math.max(0.5, y0 - y1).toFixed(2),
        "data-series": s.id,
      }, svg("title", {}, `${s.name}, ${day}: ${money(value)}`)));
    }
    group.append(svg("title", {}, `${day}: ${money(total)}`));
    bars.append(group);
  });
  chart.append(bars);

  // Day labels, thinned so they never overlap (about 64 px each), counted from the last day.
  const every = Math.max(1, Math.ceil(64 / slot));
  const axis = svg("g", { class: "chart-axis", "aria-hidden": "true" });
  axis.append(svg("line", { x1: margin.left, x2: width - margin.right, y1: margin.top + plotH + 0.5, y2: margin.top + plotH + 0.5 }));
  days.forEach((day, i) => {
    if ((days.length - 1 - i) % every !== 0) return;
    const x = margin.left + i * slot + slot / 2;
    const anchor = i === days.length - 1 && slot < 40 ? "end" : "middle";
    axis.append(svg("text", { x: anchor === "end" ? Math.min(x + slot / 2, width - margin.right) : x, y: height - 8, "text-anchor": anchor, class: "chart-tick" }, shortDay(day)));
  });
  chart.append(axis);
  clear(host).append(chart);
}

// stackedBarChart({days, series, caption}) -> a <figure> that redraws itself to its width.
export function stackedBarChart({ days, series: raw, caption }) {
  const series = prepareSeries(raw, days);
  const dayTotals = new Map(days.map((d) => [d, decimalSum(series.map((s) => s.values.get(d) || "0"))]));
  const total = decimalSum(series.map((s) => s.total));
  const busiest = days.reduce((best, d) => (Number(dayTotals.get(d)) > Number(dayTotals.get(best) || 0) ? d : best), days[0]);
  const label = `${caption}: ${money(total)} in total over ${days.length} UTC days across ${series.length} platform${series.length === 1 ? "" : "s"}`
    + (Number(total) > 0 ? `; highest day ${longDay(busiest)} with ${money(dayTotals.get(busiest))}.` : ".");

  const host = h("div", { class: "chart-host" });
  const legend = h("ul", { class: "chart-legend", "aria-label": "Platforms" }, series.map((s) =>
    h("li", {}, h("span", { class: `swatch series-${s.palette}`, "aria-hidden": "true" }), h("span", { class: "legend-name" }, s.name), h("span", { class: "legend-value num" }, money(s.total))),
  ));

  const head = h("tr", {}, h("th", { scope: "col" }, "Day (UTC)"), series.map((s) => h("th", { scope: "col", class: "num" }, s.name)), h("th", { scope: "col", class: "num" }, "Total"));
  const rows = days.filter((d) => Number(dayTotals.get(d)) !== 0).map((d) =>
    h("tr", {}, h("th", { scope: "row" }, d), series.map((s) => h("td", { class: "num" }, s.values.get(d) ? money(s.values.get(d)) : "—")), h("td", { class: "num" }, money(dayTotals.get(d)))),
  );
  const foot = h("tr", {}, h("th", { scope: "row" }, "Total"), series.map((s) => h("td", { class: "num" }, money(s.total))), h("td", { class: "num" }, money(total)));
  const table = h("details", { class: "chart-table" },
    h("summary", {}, "Show as table"),
    h("div", { class: "table-wrap" }, h("table", {}, h("caption", {}, `${caption} (days with spend)`), h("thead", {}, head), h("tbody", {}, rows), h("tfoot", {}, foot))),
  );

  const figure = h("figure", { class: "chart" }, host, legend, table);
  const data = { days, series, dayTotals, label };
  let drawnWidth = 0;
  const redraw = () => {
    const width = Math.floor(host.clientWidth);
    if (width > 0 && width !== drawnWidth) {
      drawnWidth = width;
      draw(host, width, data);
    }
  };
  const observer = new ResizeObserver(redraw);
  observer.observe(host);
  // Drawn once at a guess so the figure has its height before the first layout.
  draw(host, 800, data);
  figure.destroy = () => observer.disconnect();
  return figure;
}
