// DOM building and formatting shared by every page. Text always goes in as text nodes (never
// innerHTML), so a key label, file name or model name can never become markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key === "className" ? "class" : key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// h("button", {class: "primary", onclick: fn}, "Save")
export function h(tag, attrs = {}, ...children) {
  return apply(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs = {}, ...children) {
  return apply(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// --- numbers and money (the API sends money as decimal strings; they are rounded as strings) ---

function roundDecimal(value, places) {
  const text = String(value ?? "0").trim();
  const negative = text.startsWith("-");
  const [intPart, fracPart = ""] = text.replace(/^[-+]/, "").split(".");
  let digits = (intPart || "0") + fracPart.padEnd(places + 1, "0").slice(0, places + 1);
  const roundUp = Number(digits.at(-1)) >= 5; // half away from zero
  digits = digits.slice(0, -1);
  if (roundUp) {
    const chars = digits.split("");
    let i = chars.length - 1;
    while (i >= 0) {
      if (chars[i] === "9") { chars[i] = "0"; i -= 1; } else { chars[i] = String(Number(chars[i]) + 1); break; }
    }
    digits = (i < 0 ? "1" : "") + chars.join("");
  }
  const whole = digits.slice(0, digits.length - places).replace(/^0+(?=\d)/, "") || "0";
  const frac = places ? digits.slice(digits.length - places) : "";
  const isZero = /^0*$/.test(whole + frac);
  return { negative: negative && !isZero, whole, frac };
}

function group(whole) {
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

// "$1,234.56"; amounts under a cent (but not zero) show as "<$0.01".
export function money(value, currency = "USD") {
  const symbol = currency === "USD" ? "$" : `${currency} `;
  const exact = String(value ?? "0");
  if (!/^-?0*\.?0*$/.test(exact.replace(/^-/, "")) && Math.abs(Number(exact)) < 0.005) return `<${symbol}0.01`;
  const r = roundDecimal(exact, 2);
  return `${r.negative ? "-" : ""}${symbol}${group(r.whole)}.${r.frac}`;
}

// The exact value for a title/tooltip: "$25.7042252".
export function moneyExact(value, currency = "USD") {
  return `${currency === "USD" ? "$" : `${currency} `}${String(value ?? "0")}`;
}

const compactFormat = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });
const fullFormat = new Intl.NumberFormat("en");

// 1234567 -> "1.2M"
export function compact(value) {
  return compactFormat.format(Number(value || 0));
}

export function integer(value) {
  return fullFormat.format(Number(value || 0));
}

export function percent(ratio, digits = 0) {
  return `${(Number(ratio) * 100).toFixed(digits)}%`;
}

// --- time (shown in the user's zone; days are UTC days, and the pages say so) ---

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const zoneName = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

export function localTime(iso) {
  return iso ? dateTime.format(new Date(iso)) : "—";
}

export function timeZone() {
  return zoneName;
}

export function ago(iso, now = Date.now()) {
  if (!iso) return "never";
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}

// UTC calendar days as "YYYY-MM-DD".
export function utcDay(date = new Date()) {
  return date.toISOString().slice(0, 10);
}

export function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return utcDay(d);
}

// --- messages and forms ---

// An error box: the API's detail, and the request id for support.
export function errorBox(error) {
  const box = h("div", { class: "alert error", role: "alert" }, error.message || String(error));
  if (error.requestId) box.append(h("span", { class: "request-id" }, `Request ID: ${error.requestId}`));
  return box;
}

export function notice(kind, ...children) {
  return h("div", { class: `alert ${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}

let toastTimer = null;
export function toast(message) {
  document.querySelector(".toast")?.remove();
  const el = h("div", { class: "toast", role: "status" }, message);
  document.body.append(el);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.remove(), 4000);
}

// A labelled field: field({label, name, type, hint, ...inputAttrs})
let fieldSeq = 0;
export function field({ label, name, hint, control, ...attrs }) {
  fieldSeq += 1;
  const id = `f-${name}-${fieldSeq}`;
  const hintId = hint ? `${id}-hint` : undefined;
  const input = control || h("input", { id, name, "aria-describedby": hintId, ...attrs });
  if (control) {
    control.id = id;
    control.name = control.name || name;
    if (hintId) control.setAttribute("aria-describedby", hintId);
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("div", { class: "hint", id: hintId }, hint) : null);
}

export function clearFormErrors(form) {
  form.querySelectorAll(".field-error, .form-error").forEach((el) => el.remove());
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
}

// Put the API's field errors next to their fields, and anything else at the top of the form.
// The form keeps what was typed; pass secretNames to empty those fields (passwords, keys, codes).
export function showFormError(form, error, secretNames = []) {
  clearFormErrors(form);
  let placed = false;
  for (const item of error.errors || []) {
    const name = String(item.field || "").split(".").at(-1);
    const input = name && form.elements.namedItem(name);
    if (input instanceof HTMLElement) {
      input.setAttribute("aria-invalid", "true");
      const message = h("div", { class: "field-error", id: `${input.id}-error` }, item.message);
      input.setAttribute("aria-describedby", `${input.getAttribute("aria-describedby") || ""} ${message.id}`.trim());
      const holder = input.closest(".field");
      if (holder) holder.append(message);
      else input.after(message);
      placed = true;
    }
  }
  const box = errorBox(error);
  box.classList.add("form-error");
  if (!placed || error.status !== 400) form.prepend(box);
  for (const name of secretNames) {
    const input = form.elements.namedItem(name);
    if (input && "value" in input) input.value = "";
  }
  (form.querySelector("[aria-invalid='true']") || box).focus?.();
}

// Run an async submit with the button disabled; errors shown on the form.
export function onSubmit(form, handler, secretNames = []) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    clearFormErrors(form);
    try {
      await handler(new FormData(form));
    } catch (error) {
      showFormError(form, error, secretNames);
    } finally {
      if (button) button.disabled = false;
    }
  });
}

// A confirmation dialog; resolves true when confirmed.
export function confirmDialog(title, text, confirmLabel = "Confirm") {
  return new Promise((resolve) => {
    const dialog = h("dialog", { "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, title),
      h("p", {}, text),
    );
    const done = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
    dialog.append(h("div", { class: "row" },
      h("button", { class: "danger", type: "button", onclick: () => done(true) }, confirmLabel),
      h("button", { type: "button", onclick: () => done(false) }, "Cancel"),
    ));
    dialog.addEventListener("cancel", () => done(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function pageHead(title, ...actions) {
  return h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, title), actions.length ? h("div", { class: "row" }, ...actions) : null);
}

export function emptyState(title, text, ...actions) {
  return h("div", { class: "card empty" }, h("h2", {}, title), h("p", {}, text), h("div", { class: "row" }, ...actions));
}
