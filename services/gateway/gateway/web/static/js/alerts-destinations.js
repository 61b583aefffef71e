// Alerts page → Destinations: webhooks and Slack channels alerts are sent to. Adding a webhook
// shows its signing secret once (with how to verify a delivery); each destination can send a test
// and show its delivery log; deleting asks first. On Free the API refuses with plan-required.

import { api } from "./api.js";
import { flattenFieldErrors, isFree, isPlanRequired, planNote } from "./alerts-common.js";
import { confirmDialog, errorBox, field, h, localTime, notice, onSubmit, toast } from "./ui.js";

const LAST_STATUS = {
  delivered: ["ok", "Delivered"],
  failing: ["warn", "Failing"],
  gave_up: ["error", "Gave up"],
};
const LOG_PAGE = 20;

function attemptText(attempt) {
  const result = attempt.status_code ? `HTTP ${attempt.status_code}` : "no answer";
  return [localTime(attempt.at), result, attempt.error || null, attempt.duration_ms !== undefined && attempt.duration_ms !== null ? `${attempt.duration_ms} ms` : null]
    .filter(Boolean).join(" · ");
}

// One delivery in words: "delivered (HTTP 200)" or "gave up: connection refused".
export function deliveryText(delivery) {
  const last = (delivery.attempts || []).at(-1);
  const code = last?.status_code ? ` (HTTP ${last.status_code})` : "";
  const why = last?.error ? `: ${last.error}` : "";
  return `${delivery.status}${code}${delivery.status === "delivered" ? "" : why}`;
}

function deliveryLog(destination) {
  const body = h("div", { class: "delivery-log-body" });
  const more = h("button", { type: "button", hidden: true }, "Older deliveries");
  let cursor = null;
  let loaded = false;
  const load = async (append) => {
    more.disabled = true;
    try {
      const reply = await api.get(`/v1/alert-destinations/${destination.id}/deliveries`, { limit: LOG_PAGE, cursor: append ? cursor : null });
      const rows = (reply.items || []).map((d) => h("li", { class: "delivery" },
        h("div", {}, h("span", { class: `badge ${d.status === "delivered" ? "ok" : d.status === "gave_up" ? "error" : "info"}` }, d.status),
          " ", h("span", { class: "subtle" }, `${d.alert_id ? "Alert" : "Test"} · ${localTime(d.created_at)}`),
          d.next_attempt_at ? h("span", { class: "subtle" }, ` · next try ${localTime(d.next_attempt_at)}`) : null),
        h("ol", { class: "attempts" }, (d.attempts || []).map((a) => h("li", {}, attemptText(a))))));
      if (!append) body.replaceChildren(h("ul", { class: "delivery-list" }));
      body.querySelector(".delivery-list").append(...rows);
      if (!body.querySelector(".delivery-list li")) body.replaceChildren(h("p", { class: "subtle" }, "Nothing sent yet."));
      cursor = reply.next_cursor || null;
      more.hidden = !cursor;
    } catch (error) {
      body.replaceChildren(errorBox(error));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", () => load(true));
  const details = h("details", { class: "delivery-log" }, h("summary", {}, "Delivery log"), body, more);
  details.addEventListener("toggle", () => {
    if (details.open && !loaded) {
      loaded = true;
      load(false);
    }
  });
  return { details, reload: () => (details.open ? load(false) : (loaded = false)) };
}

function destinationCard(destination, onChanged) {
  const headingId = `destination-${destination.id}`;
  const result = h("div", { class: "destination-result", "aria-live": "polite" });
  const log = deliveryLog(destination);
  const lastBadge = h("span", { class: "badge" });
  const lastWhen = h("span", {});
  const showLast = (status, at) => {
    const [cls, text] = LAST_STATUS[status] || ["", "Nothing sent yet"];
    lastBadge.className = `badge ${cls}`.trim();
    lastBadge.textContent = text;
    lastWhen.textContent = at ? ` ${localTime(at)}` : "";
  };
  showLast(destination.last_status, destination.last_delivery_at);
  const test = h("button", { type: "button", "aria-describedby": headingId }, "Send test");
  test.addEventListener("click", async () => {
    test.disabled = true;
    result.replaceChildren(h("p", { class: "subtle" }, "Sending a test…"));
    try {
      const reply = await api.post(`/v1/alert-destinations/${destination.id}/test`, {});
      const ok = reply.delivery.status === "delivered";
      result.replaceChildren(notice(ok ? "ok" : "error", `Test ${deliveryText(reply.delivery)}.`));
      showLast(ok ? "delivered" : reply.delivery.status === "gave_up" ? "gave_up" : "failing",
        reply.delivery.attempts?.at(-1)?.at || reply.delivery.created_at);
      log.reload();
    } catch (error) {
      result.replaceChildren(errorBox(error));
    } finally {
      test.disabled = false;
    }
  });
  const remove = h("button", { type: "button", class: "danger", "aria-describedby": headingId }, "Delete");
  remove.addEventListener("click", async () => {
    const ok = await confirmDialog(`Delete the destination “${destination.name}”?`,
      "Budgets and anomaly alerts stop sending to it. Its delivery log is deleted too.", "Delete destination");
    if (!ok) return;
    remove.disabled = true;
    try {
      await api.del(`/v1/alert-destinations/${destination.id}`);
      toast(`Destination “${destination.name}” deleted.`);
      await onChanged();
    } catch (error) {
      result.replaceChildren(errorBox(error));
      remove.disabled = false;
    }
  });
  return h("li", { class: "card destination-card", dataset: { id: destination.id } },
    h("div", { class: "budget-head" },
      h("h3", { id: headingId }, destination.name),
      h("span", { class: "badge" }, destination.kind === "slack" ? "Slack" : "Webhook"),
    ),
    h("p", { class: "mono destination-target" }, destination.target),
    h("p", { class: "subtle" }, "Last delivery: ", lastBadge, lastWhen),
    result,
    h("div", { class: "row" }, test, remove),
    log.details,
  );
}

// Shown once, right after a webhook is added: the secret, a copy button, and how to check a delivery.
function secretPanel(secret) {
  const copy = h("button", { type: "button" }, "Copy secret");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secret);
      toast("Signing secret copied.");
    } catch {
      toast("Copy failed: select the secret and copy it by hand.");
    }
  });
  return notice("ok",
    h("p", {}, h("strong", {}, "Webhook added. Its signing secret is shown only this once; "), "store it now, it is not shown again."),
    h("div", { class: "row" }, h("code", { class: "signing-secret", id: "signing-secret" }, secret), copy),
    h("p", { class: "verify-how" }, "Each delivery carries a header ", h("code", {}, "AICosts-Signature: t=<unix time>,v1=<signature>"),
      ". To check it, compute HMAC-SHA256 with this secret over ", h("code", {}, "<t>.<raw body>"),
      ", compare its hex digest with v1 in constant time, and refuse a t more than a few minutes old."),
  );
}

// state: {account, destinations(), setDestinations(items)}.
export function destinationsSection(body, state) {
  const list = h("ul", { class: "destination-list" });
  const listError = h("div", {});
  const banner = h("div", { "aria-live": "polite" });
  const kind = h("select", {}, h("option", { value: "webhook" }, "Webhook"), h("option", { value: "slack" }, "Slack"));
  const urlField = field({ label: "URL", name: "url", type: "url", required: true, autocomplete: "off", spellcheck: "false", maxlength: 2000,
    hint: "A public HTTPS address; webhooks get a signed JSON POST. For Slack, the incoming-webhook URL Slack gives you." });
  const form = h("form", { class: "destination-form", novalidate: true, "aria-labelledby": "destination-form-title" },
    h("h3", { id: "destination-form-title" }, "Add a destination"),
    h("div", { class: "destination-form-grid" },
      field({ label: "Kind", name: "kind", control: kind }),
      field({ label: "Name", name: "name", required: true, maxlength: 100, autocomplete: "off" }),
      urlField),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Add destination")),
  );

  async function load() {
    try {
      const reply = await api.get("/v1/alert-destinations");
      listError.replaceChildren();
      state.setDestinations(reply.items || []);
      list.replaceChildren(...state.destinations().map((d) => destinationCard(d, load)));
      if (!list.children.length) list.append(h("li", { class: "subtle" }, "No destination yet."));
    } catch (error) {
      if (isPlanRequired(error)) listError.replaceChildren(planNote(error.message));
      else listError.replaceChildren(errorBox(error));
    }
  }

  onSubmit(form, async (data) => {
    banner.replaceChildren();
    try {
      const reply = await api.post("/v1/alert-destinations", {
        kind: kind.value, name: String(data.get("name") || "").trim(), url: String(data.get("url") || "").trim(),
      });
      form.reset();
      banner.replaceChildren(reply.signing_secret ? secretPanel(reply.signing_secret)
        : notice("ok", `Destination “${reply.destination.name}” added.`));
      await load();
    } catch (error) {
      if (isPlanRequired(error)) {
        banner.replaceChildren(planNote(error.message));
        return;
      }
      flattenFieldErrors(error);
      // A refused address (400 without field errors) belongs next to the URL.
      if (error.status === 400 && !error.errors.length) error.errors = [{ field: "url", message: error.message }];
      throw error;
    }
  });

  const freeNote = isFree(state.account())
    ? notice("info", "Webhooks and Slack are part of the Professional plan; on Free, alerts go by email. ",
      h("a", { href: "/settings#plan", "data-link": "" }, "See plans in Settings"), ".")
    : "";
  body.append(
    h("h2", { id: "destinations-title" }, "Destinations"),
    h("p", { class: "subtle" }, "Webhooks and Slack channels that budgets and anomaly alerts can send to. Email needs no setup."),
    freeNote,
    listError, list, banner, form);
  return load();
}
