// Alerts page → Alert history: what fired, newest first as the API lists it, with "Load more"
// following the cursor, an "unacknowledged only" filter, and Acknowledge / Mute 7 days on each.

import { api } from "./api.js";
import { errorBox, h, localTime, money, toast } from "./ui.js";

const PAGE = 20;
const MUTE_DAYS = 7;
const KINDS = {
  budget_threshold: "Budget threshold",
  budget_forecast: "Budget forecast",
  spike: "Spend spike",
  new_model: "New model",
  key_woke_up: "Key in use again",
};
const DELIVERY = {
  delivered: ["ok", "Delivered"],
  pending: ["info", "Sending"],
  failing: ["error", "Delivery failing"],
  none: ["", "Not sent anywhere"],
};

// onChanged(alert) gets the API's answer; the item is then drawn again in place.
function alertItem(alert, onChanged) {
  const headingId = `alert-${alert.id}`;
  const acknowledged = Boolean(alert.acknowledged_at);
  const [deliveryClass, deliveryText] = DELIVERY[alert.deliveries] || ["", alert.deliveries || ""];
  const error = h("div", {});
  const act = async (button, path, body, message) => {
    button.disabled = true;
    error.replaceChildren();
    try {
      const reply = await api.post(path, body);
      toast(message(reply));
      if (reply.alert) onChanged(reply.alert);
    } catch (err) {
      error.replaceChildren(errorBox(err));
      button.disabled = false;
    }
  };
  const ack = acknowledged ? null
    : h("button", { type: "button", "aria-describedby": headingId }, "Acknowledge");
  ack?.addEventListener("click", () => act(ack, `/v1/alerts/${alert.id}/acknowledge`, {}, () => "Alert acknowledged."));
  const mute = h("button", { type: "button", "aria-describedby": headingId }, `Mute ${MUTE_DAYS} days`);
  mute.addEventListener("click", () => act(mute, `/v1/alerts/${alert.id}/mute`, { days: MUTE_DAYS },
    (reply) => (reply.muted_until ? `Muted until ${localTime(reply.muted_until)}.` : "Muted.")));
  const item = h("li", { class: `alert-item${acknowledged ? " acknowledged" : ""}`, dataset: { id: alert.id } },
    h("div", { class: "alert-item-head" },
      h("h3", { id: headingId }, alert.title),
      h("span", { class: "badge" }, KINDS[alert.kind] || alert.kind),
      h("span", { class: `badge ${deliveryClass}`.trim() }, deliveryText),
      acknowledged ? h("span", { class: "badge" }, "Acknowledged") : null,
    ),
    h("p", { class: "alert-message" }, alert.message),
    h("p", { class: "subtle" },
      h("time", { datetime: alert.fired_at }, `Fired ${localTime(alert.fired_at)}`),
      alert.date ? ` · for ${alert.date} (UTC)` : "",
      alert.amount_usd ? ` · ${money(alert.amount_usd)}` : "",
      acknowledged ? ` · acknowledged ${localTime(alert.acknowledged_at)}` : ""),
    error,
    h("div", { class: "row alert-actions" }, ack, mute),
  );
  return item;
}

export function historySection(body) {
  const list = h("ul", { class: "alert-list", "aria-labelledby": "history-title" });
  const status = h("div", {});
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const filter = h("input", { type: "checkbox", id: "alerts-unacknowledged" });
  let cursor = null;
  let seq = 0;

  const drawn = (alert) => {
    const item = alertItem(alert, (fresh) => {
      const again = drawn(fresh);
      item.replaceWith(again);
      again.querySelector("button")?.focus();
    });
    return item;
  };

  async function load({ append = false } = {}) {
    const mine = ++seq;
    more.disabled = true;
    try {
      const reply = await api.get("/v1/alerts", {
        limit: PAGE, cursor: append ? cursor : null, unacknowledged: filter.checked ? "true" : null,
      });
      if (mine !== seq) return;
      status.replaceChildren();
      const items = (reply.items || []).map(drawn);
      if (append) list.append(...items);
      else list.replaceChildren(...items);
      if (!list.children.length) {
        list.append(h("li", { class: "alert-empty subtle" },
          filter.checked ? "Every alert is acknowledged." : "No alert has fired yet."));
      }
      cursor = reply.next_cursor || null;
      more.hidden = !cursor;
    } catch (error) {
      if (mine === seq) status.replaceChildren(errorBox(error));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", () => load({ append: true }));
  filter.addEventListener("change", () => load());

  body.append(
    h("div", { class: "section-head" }, h("h2", { id: "history-title" }, "Alert history"),
      h("label", { class: "check", for: "alerts-unacknowledged" }, filter, " Unacknowledged only")),
    status, list, h("div", { class: "row load-more" }, more));
  return load();
}
