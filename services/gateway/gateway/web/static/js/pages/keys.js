// Provider keys: connect a platform by its read-only admin/usage key (with per-platform guidance),
// see each key's sync status and last error with what to do, sync now, backfill a range of UTC
// days, delete. While any sync run is queued or running the page polls /v1/sync-runs.

import { api } from "../api.js";
import { guidanceFor } from "../data-platforms.js";
import {
  addDays, ago, confirmDialog, emptyState, errorBox, field, h, integer, localTime, notice, onSubmit, pageHead,
  timeZone, toast, utcDay,
} from "../ui.js";

export const title = "Provider keys";

const POLL_MS = 2000;
const BUSY = new Set(["queued", "running"]);
const DEFAULT_HISTORY_DAYS = 90;
const REASONS = { backfill: "backfill", manual: "manual sync", scheduled: "scheduled sync" };

function external(url, text) {
  return h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, text || url.replace(/^https:\/\//, ""));
}

// --- the connect form ----------------------------------------------------------------------

function guidancePanel(platform) {
  const guide = guidanceFor(platform.id);
  const panel = h("div", { class: "key-guide", id: "key-guide", "aria-live": "polite" });
  if (!guide) {
    panel.append(h("h3", {}, `Which ${platform.name} key`), h("p", {}, platform.key_hint));
    return panel;
  }
  panel.append(
    h("h3", {}, `Which ${platform.name} key`),
    h("ol", { class: "guide-steps" },
      h("li", {}, h("strong", {}, guide.keyName), guide.prefix ? [" (starts with ", h("code", {}, guide.prefix), ")"] : null,
        ". ", guide.notThis),
      h("li", {}, "Create it at ", h("strong", {}, guide.consoleName), ": ", external(guide.consoleUrl), ". ", guide.who),
      h("li", {}, guide.pasteStep || "Paste it in the API key field. It is stored encrypted; only its last 4 characters are shown again."),
    ),
    h("p", { class: "guide-readonly" }, h("span", { class: "badge ok" }, "Read-only use"), " ", guide.readOnly),
  );
  if (platform.connect === "both") {
    panel.append(h("p", { class: "subtle" }, `You can also upload ${platform.name} billing exports on the `,
      h("a", { href: "/uploads", "data-link": "" }, "Uploads"), " page."));
  }
  return panel;
}

// The inputs a platform's credential needs: one API key, or one labelled input per field that
// GET /v1/platforms lists (AWS: access key ID and secret access key). Secret values are password
// inputs, emptied after every try.
function credentialInputs(platform) {
  if (!platform.fields?.length) {
    const guide = guidanceFor(platform.id);
    const keyInput = h("input", {
      name: "api_key", type: "password", autocomplete: "off", spellcheck: "false", autocapitalize: "off",
      required: true, maxlength: 1024, placeholder: guide?.prefix ? `${guide.prefix}…` : "",
    });
    return {
      nodes: [field({ label: "API key", name: "api_key", control: keyInput,
        hint: "Never shown again after you connect it; this field is emptied after every try." })],
      secrets: ["api_key"],
      body: (data) => ({ api_key: String(data.get("api_key") || "") }),
    };
  }
  const nodes = platform.fields.map((f) => field({
    label: f.label, name: f.name, hint: f.secret ? `${f.help} Never shown again; emptied after every try.` : f.help,
    control: h("input", {
      name: f.name, type: f.secret ? "password" : "text", autocomplete: "off", spellcheck: "false",
      autocapitalize: "off", required: f.required !== false, maxlength: f.max_length, pattern: f.pattern,
    }),
  }));
  return {
    nodes,
    secrets: platform.fields.filter((f) => f.secret).map((f) => f.name),
    body: (data) => ({
      fields: Object.fromEntries(platform.fields.map((f) => [f.name, String(data.get(f.name) || "").trim()])),
    }),
  };
}

function connectCard(keyPlatforms, onConnected) {
  const select = h("select", { required: true },
    keyPlatforms.map((p) => h("option", { value: p.id }, p.name)));
  const guideSlot = h("div", { class: "guide-slot" });
  const inputSlot = h("div", { class: "credential-inputs" });
  const secretNames = []; // kept current for showFormError, which empties these after a refusal
  let inputs = null;
  const showGuide = () => {
    const platform = keyPlatforms.find((p) => p.id === select.value) || keyPlatforms[0];
    guideSlot.replaceChildren(guidancePanel(platform));
    inputs = credentialInputs(platform);
    inputSlot.replaceChildren(...inputs.nodes);
    secretNames.splice(0, secretNames.length, ...inputs.secrets);
  };
  select.addEventListener("change", showGuide);

  const form = h("form", { class: "connect-form", novalidate: true, "aria-labelledby": "connect-title" },
    h("div", { class: "connect-platform" }, field({ label: "Platform", name: "platform", control: select })),
    h("div", { class: "connect-grid" },
      guideSlot,
      h("div", { class: "connect-fields" },
        field({ label: "Label (optional)", name: "label", maxlength: 100, autocomplete: "off",
          hint: "A name to tell keys apart, e.g. “Production org”." }),
        inputSlot,
        h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Connect key")),
      ),
    ),
  );
  onSubmit(form, async (data) => {
    const body = { platform: String(data.get("platform")), ...inputs.body(data) };
    const label = String(data.get("label") || "").trim();
    if (label) body.label = label;
    for (const name of secretNames) form.elements.namedItem(name).value = ""; // never kept in the page
    const created = await api.post("/v1/credentials", body);
    form.elements.namedItem("label").value = "";
    showGuide(); // fresh, empty inputs for the next key
    await onConnected(created);
  }, secretNames);
  showGuide();

  return h("section", { class: "card connect-card", "aria-labelledby": "connect-title", id: "connect" },
    h("h2", { id: "connect-title" }, "Connect a provider"),
    form,
  );
}

function filePlatformsNote(filePlatforms) {
  if (!filePlatforms.length) return null;
  return h("section", { class: "card file-note", "aria-labelledby": "file-note-title" },
    h("h2", { id: "file-note-title" }, "Platforms without a usage API"),
    h("p", {}, "These platforms offer no API that reports spend. Upload their billing exports (CSV, XLSX) instead:"),
    h("ul", { class: "platform-chips" }, filePlatforms.map((p) => h("li", { class: "chip-static", title: p.key_hint }, p.name))),
    h("a", { class: "button", href: "/uploads", "data-link": "" }, "Upload a billing file"),
  );
}

// --- one key ---------------------------------------------------------------------------------

// What the key's state is, in words and a badge, and what to do about a problem.
export function keyState(credential, run) {
  if (run && BUSY.has(run.status)) {
    const what = run.reason === "backfill" ? "Backfill" : "Sync";
    const progress = run.days_total ? `${integer(run.days)} of ${integer(run.days_total)} days` : "";
    return {
      badge: ["info", run.status === "queued" ? "Queued" : "Syncing"],
      text: run.status === "queued" ? `${what} queued (${run.from} to ${run.to}, UTC)…`
        : `${what} running: ${progress || "starting"}${run.records ? `, ${integer(run.records)} records` : ""}.`,
      progress: run.status === "running" && run.days_total ? [run.days, run.days_total] : null,
    };
  }
  if (credential.status === "invalid") {
    return {
      badge: ["error", "Key refused"],
      text: credential.last_sync_at ? `Last good sync ${ago(credential.last_sync_at)}.` : "Never synced.",
      problem: credential.status_message || "The provider refused this key.",
      fix: "Create a new key as described in the guide (the right kind, not revoked), connect it, then delete this one.",
    };
  }
  if (credential.status_message) {
    return {
      badge: ["warn", "Paused"],
      text: credential.last_sync_at ? `Synced ${ago(credential.last_sync_at)}.` : "Not synced yet.",
      problem: credential.status_message,
      fix: "See your plan on the Settings page, or delete keys you no longer need.",
      fixLink: ["/settings", "Open Settings"],
    };
  }
  if (run?.status === "failed") {
    return {
      badge: ["error", "Sync failed"],
      text: credential.last_sync_at ? `Last good sync ${ago(credential.last_sync_at)}.` : "Not synced yet.",
      problem: run.error || "The last sync failed.",
      fix: "Data already stored is kept. Press “Sync now” to try again; if it keeps failing, check the key in the provider's console.",
    };
  }
  if (run?.status === "partial") {
    const days = run.failed_days?.length || 0;
    return {
      badge: ["warn", "Partly synced"],
      text: `Synced ${ago(credential.last_sync_at || run.finished_at)}; ${days} ${days === 1 ? "day" : "days"} could not be read.`,
      problem: run.error || run.failed_days?.[0]?.error || "Some days could not be read.",
      fix: "Press “Sync now” or backfill those days to try them again.",
    };
  }
  if (credential.last_sync_at) {
    return { badge: ["ok", "Synced"], text: `Synced ${ago(credential.last_sync_at)}`, title: localTime(credential.last_sync_at) };
  }
  return { badge: ["", "Not synced yet"], text: "Waiting for the first sync." };
}

function backfillForm(credential, historyDays, onStarted, onClose) {
  const today = utcDay();
  const earliest = addDays(today, -(historyDays - 1));
  const form = h("form", { class: "backfill-form", novalidate: true, hidden: true,
    "aria-label": `Backfill ${credential.label || credential.platform}` },
    h("p", { class: "subtle" }, `Fetch a range of UTC days again (your plan reaches back ${historyDays} days, to ${earliest}).`),
    h("div", { class: "backfill-fields" },
      field({ label: "From (UTC day)", name: "from", type: "date", min: earliest, max: today, value: addDays(today, -29), required: true }),
      field({ label: "To (UTC day)", name: "to", type: "date", min: earliest, max: today, value: today, required: true }),
    ),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Start backfill"),
      h("button", { type: "button", onclick: () => { form.hidden = true; onClose(); } }, "Cancel")),
  );
  onSubmit(form, async (data) => {
    const from = String(data.get("from") || "");
    const to = String(data.get("to") || "");
    const reply = await api.post(`/v1/credentials/${credential.id}/sync`, { from, to });
    form.hidden = true;
    onClose();
    const run = reply.sync_run;
    // A queued or running sync that already covers these days is answered instead of a new one.
    const text = run.from !== from || run.to !== to
      ? `A ${REASONS[run.reason] || "sync"} of ${run.from} to ${run.to} (UTC), already under way, covers these days.`
      : `Backfill of ${run.from} to ${run.to} (UTC) started.`;
    onStarted(run, text);
  });
  return form;
}

function keyCard(credential, platformName, historyDays, actions) {
  const headingId = `key-${credential.id}`;
  const badge = h("span", { class: "badge" });
  const statusText = h("span", { class: "key-status-text" });
  const progress = h("progress", { class: "key-progress", hidden: true, "aria-labelledby": headingId });
  const problem = h("div", { class: "key-problem", hidden: true });
  const lastRun = h("p", { class: "key-last-run subtle", hidden: true });
  const actionError = h("div", { class: "key-action-error" });
  const backfillButton = h("button", { type: "button", "aria-describedby": headingId, "aria-expanded": "false" }, "Backfill…");
  const backfill = backfillForm(credential, historyDays, actions.started, () => {
    backfillButton.setAttribute("aria-expanded", "false");
    backfillButton.focus();
  });
  const syncButton = h("button", { type: "button", "aria-describedby": headingId }, "Sync now");
  syncButton.addEventListener("click", async () => {
    syncButton.disabled = true;
    actionError.replaceChildren();
    try {
      const reply = await api.post(`/v1/credentials/${credential.id}/sync`, {});
      actions.started(reply.sync_run, `Sync of ${reply.sync_run.from} to ${reply.sync_run.to} (UTC) started.`);
    } catch (error) {
      actionError.replaceChildren(errorBox(error));
    } finally {
      syncButton.disabled = false;
    }
  });
  backfillButton.addEventListener("click", () => {
    backfill.hidden = !backfill.hidden;
    backfillButton.setAttribute("aria-expanded", String(!backfill.hidden));
    if (!backfill.hidden) backfill.querySelector("input")?.focus();
  });
  const deleteButton = h("button", { type: "button", class: "danger", "aria-describedby": headingId }, "Delete");
  deleteButton.addEventListener("click", async () => {
    const name = credential.label ? `“${credential.label}”` : `ending in ${credential.last4}`;
    const ok = await confirmDialog(
      `Delete the ${platformName} key ${name}?`,
      "AICosts erases the stored key and stops syncing it. Spend already synced stays in your reports. " +
        "Revoke the key in the provider's console too if you no longer use it.",
      "Delete key",
    );
    if (!ok) return;
    deleteButton.disabled = true;
    actionError.replaceChildren();
    try {
      await api.del(`/v1/credentials/${credential.id}`);
      actions.deleted(credential);
    } catch (error) {
      actionError.replaceChildren(errorBox(error));
      deleteButton.disabled = false;
    }
  });

  const card = h("li", { class: "card key-card", dataset: { id: credential.id } },
    h("div", { class: "key-head" },
      h("h3", { id: headingId }, platformName, h("span", { class: "key-label" }, credential.label || "Unlabelled key")),
      badge,
    ),
    h("dl", { class: "key-facts" },
      h("div", {}, h("dt", {}, "Key"), h("dd", { class: "mono" }, `•••• ${credential.last4}`)),
      h("div", {}, h("dt", {}, "Added"), h("dd", {}, localTime(credential.created_at))),
    ),
    h("p", { class: "key-status", role: "status" }, statusText),
    lastRun,
    progress,
    problem,
    actionError,
    h("div", { class: "row key-actions" }, syncButton, backfillButton, deleteButton),
    backfill,
  );

  const update = (fresh, run) => {
    const state = keyState(fresh, run);
    badge.className = `badge ${state.badge[0]}`.trim();
    badge.textContent = state.badge[1];
    statusText.textContent = state.text;
    if (state.title) statusText.title = state.title;
    else statusText.removeAttribute("title");
    progress.hidden = !state.progress;
    if (state.progress) {
      progress.max = state.progress[1];
      progress.value = state.progress[0];
      progress.textContent = `${state.progress[0]} of ${state.progress[1]} days`;
    }
    lastRun.hidden = !run || BUSY.has(run.status);
    if (run && !BUSY.has(run.status)) {
      lastRun.textContent = `Last run: ${REASONS[run.reason] || "sync"} of ${run.from} to ${run.to} (UTC), ` +
        `${integer(run.days)} of ${integer(run.days_total)} days, ${integer(run.records)} records` +
        `${run.finished_at ? `, finished ${localTime(run.finished_at)}` : ""}.`;
    }
    problem.hidden = !state.problem;
    if (state.problem) {
      problem.replaceChildren(
        h("p", { class: "key-problem-what" }, h("strong", {}, "Last error: "), state.problem),
        h("p", { class: "key-problem-fix" }, h("strong", {}, "What to do: "), state.fix,
          state.fixLink ? [" ", h("a", { href: state.fixLink[0], "data-link": "" }, state.fixLink[1])] : null),
      );
    }
  };
  return { card, update };
}

// --- the page --------------------------------------------------------------------------------

export async function render(main, ctx) {
  const [platformList, plans] = await Promise.all([
    api.get("/v1/platforms"),
    api.get("/v1/billing/plans").catch(() => null),
  ]);
  const plan = plans?.items?.find((p) => p.id === ctx.account.plan);
  const historyDays = plan?.history_days || DEFAULT_HISTORY_DAYS;
  const platforms = platformList.items;
  const nameOf = (id) => platforms.find((p) => p.id === id)?.name || id;
  const keyPlatforms = platforms.filter((p) => p.connect === "api_key" || p.connect === "both");
  const filePlatforms = platforms.filter((p) => p.connect === "file");

  let stopped = false;
  let timer = null;
  const cards = new Map(); // credential id -> {card, update}
  const banner = h("div", { class: "keys-banner" });
  const list = h("ul", { class: "key-list", "aria-label": "Connected keys" });
  const listSection = h("section", { class: "keys-list-section", "aria-labelledby": "keys-title" });
  const listError = h("div");

  const actions = {
    started: (run, message) => {
      banner.replaceChildren(notice("ok", message, " This page follows its progress."));
      refresh();
    },
    deleted: (credential) => {
      banner.replaceChildren(notice("ok", `The ${nameOf(credential.platform)} key ending in ${credential.last4} was deleted.`));
      toast("Key deleted");
      refresh();
    },
  };

  function draw(credentials, runs) {
    const latest = new Map();
    for (const run of runs) if (!latest.has(run.credential_id)) latest.set(run.credential_id, run);
    const seen = new Set();
    credentials.forEach((credential, index) => {
      seen.add(credential.id);
      let entry = cards.get(credential.id);
      if (!entry) {
        entry = keyCard(credential, nameOf(credential.platform), historyDays, actions);
        cards.set(credential.id, entry);
      }
      // The API's order, moving a card only when it is out of place: a moved node loses focus,
      // and the page redraws every few seconds while someone may be typing in a card's form.
      if (list.children[index] !== entry.card) list.insertBefore(entry.card, list.children[index] || null);
      entry.update(credential, latest.get(credential.id));
    });
    for (const [id, entry] of cards) {
      if (!seen.has(id)) {
        entry.card.remove();
        cards.delete(id);
      }
    }
    const connectTitle = document.getElementById("connect-title");
    if (connectTitle) connectTitle.textContent = credentials.length ? "Connect another provider" : "Connect a provider";
    if (credentials.length && list.parentNode === listSection) {
      listSection.querySelector("#keys-title").textContent = `Connected keys (${credentials.length})`;
    } else if (credentials.length) {
      listSection.replaceChildren(
        h("h2", { id: "keys-title" }, `Connected keys (${credentials.length})`),
        h("p", { class: "subtle" }, "Keys are synced again on a schedule. Times are in ", timeZone(), "; sync ranges are UTC days."),
        list,
      );
    } else {
      listSection.replaceChildren(
        h("h2", { id: "keys-title", class: "visually-hidden" }, "Connected keys"),
        emptyState(
          "Connect your first provider",
          "Pick a platform below, create the key the guide names on the provider's console page, and paste it. " +
            `AICosts then fetches your last ${historyDays} days of spend and keeps it up to date. ` +
            "For platforms without a usage API, upload their billing files instead.",
          h("a", { class: "button primary", href: "#connect", onclick: (event) => {
            event.preventDefault();
            document.getElementById("connect")?.scrollIntoView({ behavior: "smooth", block: "start" });
            document.querySelector("#connect select")?.focus({ preventScroll: true });
          } }, "Connect a key"),
          h("a", { class: "button", href: "/uploads", "data-link": "" }, "Upload a billing file"),
        ),
      );
    }
    return runs.some((r) => BUSY.has(r.status));
  }

  // One refresh at a time; a request for another while one runs is served right after it.
  let running = false;
  let again = false;
  async function refresh() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    clearTimeout(timer);
    timer = null;
    let busy = false;
    try {
      const [credentials, runs] = await Promise.all([
        api.get("/v1/credentials"),
        api.get("/v1/sync-runs", { limit: 100 }),
      ]);
      if (stopped) return;
      listError.replaceChildren();
      busy = draw(credentials.items, runs.items);
    } catch (error) {
      if (stopped) return;
      listError.replaceChildren(errorBox(error));
      busy = true; // try again shortly
    } finally {
      running = false;
    }
    if (stopped) return;
    if (again) {
      again = false;
      await refresh();
    } else if (busy) {
      timer = setTimeout(refresh, POLL_MS);
    }
  }

  const onConnected = async (created) => {
    const name = nameOf(created.credential.platform);
    if (created.sync_run) {
      const run = created.sync_run;
      banner.replaceChildren(notice("ok", `${name} key connected. The ${historyDays}-day backfill started `,
        `(${run.from} to ${run.to}, UTC); this page follows its progress.`));
    } else {
      banner.replaceChildren(notice("warn", `${name} key connected, but its backfill could not start right now. `,
        "Press “Sync now” on the key in a minute."));
    }
    await refresh();
    banner.scrollIntoView({ block: "nearest" });
  };

  main.append(
    pageHead("Provider keys"),
    h("p", { class: "page-intro" },
      "AICosts reads what you spend from each provider's usage and cost reports, with a key that only needs to read them. ",
      "Keys are stored encrypted and never shown again."),
    banner,
    listError,
    listSection,
    keyPlatforms.length ? connectCard(keyPlatforms, onConnected) : null,
    filePlatformsNote(filePlatforms),
  );
  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
