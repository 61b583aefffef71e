// Billing files: drop or pick a file (CSV, XLSX, PDF), watch it upload, check the parsed preview
// (format, warnings, totals, first rows), then import it into usage or discard it; below, the
// past uploads. Nothing reaches the reports until "Import".

import { api, upload } from "../api.js";
import { unitCell } from "../spend-data.js";
import {
  confirmDialog, emptyState, errorBox, field, h, integer, localTime, money, moneyExact, notice, pageHead, toast,
} from "../ui.js";

export const title = "Billing files";

const MAX_MB = 20; // the gateway's limit (POST /v1/uploads answers 413 above it)
const ACCEPT = ".csv,.xlsx,.pdf,text/csv,application/pdf,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PAGE = 20;
const PARSERS = {
  openai_cost_csv: "OpenAI cost export",
  openai_usage_csv: "OpenAI usage export",
  anthropic_cost_csv: "Anthropic cost export",
  anthropic_usage_csv: "Anthropic usage export",
  generic_table: "Table with date and cost columns",
  openai_extraction: "Read by AI",
};
const STATUS = {
  parsing: ["info", "Reading"],
  parsed: ["warn", "Not imported"],
  imported: ["ok", "Imported"],
  failed: ["error", "Failed"],
};
function formatName(parser) {
  return PARSERS[parser] || parser || "—";
}

function statusBadge(status) {
  const [kind, text] = STATUS[status] || ["", status];
  return h("span", { class: `badge ${kind}`.trim() }, text);
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// "0.2343" -> true, "6.8800" -> false: whether the rounded figure hides digits.
function finerThanCents(value) {
  const fraction = String(value).split(".")[1] || "";
  return fraction.replace(/0+$/, "").length > 2;
}

function dateRange(records) {
  const days = records.map((r) => r.date).filter(Boolean).sort();
  if (!days.length) return "—";
  return days[0] === days.at(-1) ? days[0] : `${days[0]} to ${days.at(-1)}`;
}

// --- the preview of one upload ---------------------------------------------------------------

function previewCard(up, platformName, handlers) {
  const shown = up.records_preview || [];
  const partial = up.record_count > shown.length;
  const total = up.total_cost_usd || "0";
  const stats = h("dl", { class: "upload-stats" },
    h("div", { class: "stat" }, h("dt", { class: "label" }, "Total cost"),
      h("dd", { class: "value", id: "preview-total", title: moneyExact(total) }, money(total)),
      finerThanCents(total) ? h("dd", { class: "subtle exact" }, `exactly ${moneyExact(total)}`) : null),
    h("div", { class: "stat" }, h("dt", { class: "label" }, "Records"),
      h("dd", { class: "value", id: "preview-records" }, integer(up.record_count))),
    h("div", { class: "stat days" }, h("dt", { class: "label" }, partial ? `Days (first ${shown.length} records, UTC)` : "Days (UTC)"),
      h("dd", { class: "value small", id: "preview-days" }, dateRange(shown))),
  );
  const facts = h("p", { class: "subtle upload-facts" },
    "Format: ", h("strong", {}, formatName(up.parser)),
    " · Platform: ", h("strong", {}, platformName(up.platform) || "—"),
    " · ", size(up.size), " · uploaded ", localTime(up.created_at));

  const warnings = (up.warnings || []).length
    ? notice("warn", h("strong", {}, "Check before importing:"), h("ul", {}, up.warnings.map((w) => h("li", {}, w))))
    : null;
  const columns = Object.keys(up.columns_used || {}).length
    ? h("p", { class: "subtle" }, "Columns read: ",
      Object.entries(up.columns_used).map(([role, column], i) => [i ? ", " : "", `${role} ← `, h("code", {}, column)]))
    : null;

  const table = h("div", { class: "table-wrap" },
    h("table", { class: "preview-table stacked" },
      h("caption", {}, partial ? `The first ${shown.length} of ${integer(up.record_count)} records` : `All ${integer(up.record_count)} records`),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Day (UTC)"), h("th", { scope: "col" }, "Model"), h("th", { scope: "col", class: "line-items" }, "Line items"),
        h("th", { scope: "col" }, "Units"), h("th", { scope: "col", class: "num" }, "Cost"))),
      h("tbody", {}, shown.map((r) => h("tr", {},
        h("td", { class: "nowrap", "data-label": "Day (UTC)" }, r.date),
        h("td", { "data-label": "Model" }, h("div", {}, h("code", {}, r.model),
          r.estimated ? h("span", { class: "badge" }, "estimated") : null)),
        h("td", { class: "line-items" }, (r.line_items || []).map((i) => i.name).join("; ") || "—"),
        h("td", { "data-label": "Units" }, unitCell(r.units)),
        h("td", { class: "num", "data-label": "Cost", title: moneyExact(r.cost_usd) }, money(r.cost_usd)),
      ))),
    ),
  );

  const message = h("div", { class: "preview-message" });
  const importButton = h("button", { type: "button", class: "primary" }, `Import ${integer(up.record_count)} records`);
  const discardButton = h("button", { type: "button", class: "danger" }, "Discard");
  const busy = async (work) => {
    importButton.disabled = true;
    discardButton.disabled = true;
    message.replaceChildren();
    try {
      await work();
    } catch (error) {
      message.replaceChildren(errorBox(error));
    } finally {
      importButton.disabled = false;
      discardButton.disabled = false;
    }
  };
  importButton.addEventListener("click", () => busy(() => handlers.import(up)));
  discardButton.addEventListener("click", () => busy(() => handlers.discard(up)));
  const buttons = up.status === "parsed"
    ? h("div", { class: "row preview-actions" }, importButton, discardButton,
      h("span", { class: "subtle" }, "Importing replaces file records of the same days and models, so importing twice never counts twice."))
    : null;
  const done = up.status === "imported"
    ? notice("ok", `Imported ${integer(up.records_imported)} records${up.imported_at ? ` on ${localTime(up.imported_at)}` : ""}. `,
      h("a", { href: "/", "data-link": "" }, "See them in the overview"), ".")
    : null;

  return h("section", { class: "card preview-card", "aria-labelledby": "preview-title", id: "preview", dataset: { upload: up.id } },
    h("div", { class: "preview-head" },
      h("h2", { id: "preview-title", tabindex: "-1" }, "Preview: ", h("span", { class: "filename" }, up.filename)),
      statusBadge(up.status)),
    facts, message, done, warnings, stats, columns, table, buttons,
  );
}

// --- the page --------------------------------------------------------------------------------

export async function render(main, ctx) {
  const platforms = (await api.get("/v1/platforms")).items;
  const platformName = (id) => platforms.find((p) => p.id === id)?.name || id;
  const professional = ctx.account.plan === "professional";
  let stopped = false;
  let pollTimer = null;

  // The drop zone is the label of a real file input: click, Enter/Space on the focused input, or drop.
  const fileInput = h("input", { type: "file", id: "billing-file", name: "file", accept: ACCEPT,
    class: "file-input", "aria-labelledby": "billing-file-label", "aria-describedby": "billing-file-hint" });
  const dropHint = h("span", { class: "drop-hint", id: "billing-file-hint" },
    `CSV or XLSX${professional ? " or PDF" : ""}, at most ${MAX_MB} MB.`,
    professional ? " PDFs and unusual layouts are read by AI." : " PDFs need the Professional plan.");
  const dropZone = h("div", { class: "dropzone" },
    h("label", { for: "billing-file", class: "drop-label" },
      h("span", { class: "drop-icon", "aria-hidden": "true" }, "⇪"),
      h("span", { class: "drop-title" }, "Drop a billing file here, or ", h("span", { class: "drop-pick" }, "choose a file")),
      dropHint),
    fileInput,
  );
  const platformSelect = h("select", {},
    h("option", { value: "" }, "Detect from the file"),
    platforms.map((p) => h("option", { value: p.id }, p.name)));
  const progressBar = h("progress", { max: 1, value: 0, "aria-labelledby": "upload-progress-label" });
  const progressLabel = h("span", { id: "upload-progress-label" }, "");
  const progressBox = h("div", { class: "upload-progress", hidden: true, role: "status" }, progressLabel, progressBar);
  const uploadError = h("div", { class: "upload-error" });
  const previewSlot = h("div", { class: "preview-slot" });
  const resultSlot = h("div", { class: "result-slot" });

  const tbody = h("tbody");
  const moreButton = h("button", { type: "button", hidden: true }, "Load more");
  const pastError = h("div");
  const pastBody = h("div");
  let nextCursor = null;

  function setBusy(on) {
    fileInput.disabled = on;
    platformSelect.disabled = on;
    dropZone.classList.toggle("busy", on);
  }

  async function showUpload(up, { focus = true } = {}) {
    clearTimeout(pollTimer);
    previewSlot.replaceChildren(previewCard(up, platformName, { import: importUpload, discard: discardUpload }));
    if (focus) previewSlot.querySelector("h2")?.focus();
    if (up.status === "parsing") {
      pollTimer = setTimeout(async () => {
        if (stopped) return;
        try {
          await showUpload((await api.get(`/v1/uploads/${up.id}`)).upload, { focus: false });
        } catch (error) {
          previewSlot.replaceChildren(errorBox(error));
        }
      }, 1500);
    }
  }

  async function importUpload(up) {
    const done = (await api.post(`/v1/uploads/${up.id}/import`)).upload;
    resultSlot.replaceChildren(notice("ok",
      `Imported ${integer(done.records_imported)} records from `, h("span", { class: "filename" }, done.filename), ". ",
      h("a", { href: "/", "data-link": "" }, "See them in the overview"), "."));
    previewSlot.replaceChildren();
    resultSlot.querySelector("a")?.focus();
    await loadPast(true);
  }

  async function discardUpload(up) {
    await api.del(`/v1/uploads/${up.id}`);
    previewSlot.replaceChildren();
    resultSlot.replaceChildren(notice("info", "Discarded ", h("span", { class: "filename" }, up.filename), ". Nothing was imported."));
    toast("Upload discarded");
    await loadPast(true);
  }

  async function deleteUpload(up) {
    const imported = up.status === "imported";
    const ok = await confirmDialog(
      `Delete ${up.filename}?`,
      imported
        ? `This also removes the ${integer(up.records_imported)} records it imported from your reports.`
        : "The file and its preview are deleted; nothing was imported from it.",
      "Delete upload",
    );
    if (!ok) return;
    try {
      await api.del(`/v1/uploads/${up.id}`);
      if (previewSlot.querySelector(`[data-upload="${up.id}"]`)) previewSlot.replaceChildren();
      toast(imported ? "Upload and its records deleted" : "Upload deleted");
      await loadPast(true);
    } catch (error) {
      pastError.replaceChildren(errorBox(error));
    }
  }

  async function send(file) {
    uploadError.replaceChildren();
    resultSlot.replaceChildren();
    if (!file) return;
    if (file.size > MAX_MB * 1024 * 1024) {
      uploadError.replaceChildren(notice("error", `${file.name} is ${size(file.size)}; files can be at most ${MAX_MB} MB. `,
        "Export a shorter date range and upload each part."));
      return;
    }
    const form = new FormData();
    form.append("file", file, file.name);
    if (platformSelect.value) form.append("platform", platformSelect.value);
    setBusy(true);
    progressBox.hidden = false;
    progressBar.value = 0;
    progressLabel.textContent = `Uploading ${file.name}… 0%`;
    try {
      const reply = await upload("/v1/uploads", form, (fraction) => {
        progressBar.value = fraction;
        progressLabel.textContent = fraction < 1
          ? `Uploading ${file.name}… ${Math.round(fraction * 100)}%`
          : `Reading ${file.name}…`;
      });
      if (stopped) return;
      await showUpload(reply.upload);
      loadPast(true);
    } catch (error) {
      if (stopped) return;
      const box = errorBox(error);
      if (error.status === 403 && /plan|professional/i.test(error.message)) {
        box.append(" ", h("a", { href: "/settings", "data-link": "" }, "See plans in Settings"));
      }
      uploadError.replaceChildren(box);
    } finally {
      progressBox.hidden = true;
      setBusy(false);
      fileInput.value = "";
    }
  }

  fileInput.addEventListener("change", () => send(fileInput.files?.[0]));
  for (const name of ["dragenter", "dragover"]) {
    dropZone.addEventListener(name, (event) => {
      event.preventDefault();
      dropZone.classList.add("dragging");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    dropZone.addEventListener(name, () => dropZone.classList.remove("dragging"));
  }
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (!fileInput.disabled) send(event.dataTransfer?.files?.[0]);
  });

  function pastRow(up) {
    const view = h("button", { type: "button", class: "link" }, up.status === "parsed" ? "Review and import" : "View");
    view.addEventListener("click", async () => {
      try {
        await showUpload((await api.get(`/v1/uploads/${up.id}`)).upload);
      } catch (error) {
        pastError.replaceChildren(errorBox(error));
      }
    });
    const del = h("button", { type: "button", class: "link danger-link" }, "Delete");
    del.addEventListener("click", () => deleteUpload(up));
    return h("tr", { dataset: { upload: up.id } },
      h("td", {}, h("span", { class: "filename" }, up.filename), h("div", { class: "subtle" }, formatName(up.parser))),
      h("td", { "data-label": "Uploaded" }, localTime(up.created_at)),
      h("td", { "data-label": "Platform" }, platformName(up.platform) || "—"),
      h("td", { "data-label": "Status" }, statusBadge(up.status)),
      h("td", { class: "num", "data-label": "Records" }, integer(up.status === "imported" ? up.records_imported : up.record_count)),
      h("td", { class: "num", "data-label": "Total", title: moneyExact(up.total_cost_usd) }, money(up.total_cost_usd)),
      h("td", { class: "actions" }, h("div", { class: "row" }, view, del)),
    );
  }

  async function loadPast(reset) {
    try {
      const page = await api.get("/v1/uploads", { limit: PAGE, cursor: reset ? null : nextCursor });
      if (stopped) return;
      pastError.replaceChildren();
      if (reset) tbody.replaceChildren();
      tbody.append(...page.items.map(pastRow));
      nextCursor = page.next_cursor;
      moreButton.hidden = !nextCursor;
      if (!tbody.children.length) {
        pastBody.replaceChildren(emptyState(
          "No billing files yet",
          "Export a cost report from your provider's console (for example OpenAI's or Anthropic's cost export, " +
            "an AWS Cost Explorer CSV or an Azure cost export) and drop it above. You check the preview before anything is imported.",
          h("a", { class: "button", href: "/keys", "data-link": "" }, "Connect a key instead"),
        ));
      } else if (!pastBody.contains(tbody)) {
        pastBody.replaceChildren(h("div", { class: "table-wrap" }, h("table", { class: "uploads-table stacked" },
          h("caption", { class: "visually-hidden" }, "Past uploads, newest first"),
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, "File"), h("th", { scope: "col" }, "Uploaded"), h("th", { scope: "col" }, "Platform"),
            h("th", { scope: "col" }, "Status"), h("th", { scope: "col", class: "num" }, "Records"),
            h("th", { scope: "col", class: "num" }, "Total"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
          tbody)), moreButton);
      }
    } catch (error) {
      if (!stopped) pastError.replaceChildren(errorBox(error));
    }
  }
  moreButton.addEventListener("click", () => loadPast(false));

  main.append(
    pageHead("Billing files"),
    h("p", { class: "page-intro" },
      "Upload billing exports for platforms without a usage API, or older months. ",
      "You see what was read before anything is added to your reports."),
    h("section", { class: "card upload-card", "aria-labelledby": "upload-title" },
      h("h2", { id: "upload-title" }, "Upload a file"),
      h("div", { class: "upload-grid" },
        h("div", { class: "field" }, h("div", { class: "field-label", id: "billing-file-label" }, "Billing file"), dropZone),
        field({ label: "Platform", name: "platform", control: platformSelect,
          hint: "Leave “Detect” unless the file is a generic table whose platform cannot be told from its model names." }),
      ),
      progressBox,
      uploadError,
    ),
    resultSlot,
    previewSlot,
    h("section", { class: "card past-card", "aria-labelledby": "past-title" },
      h("h2", { id: "past-title" }, "Past uploads"),
      pastError,
      pastBody,
    ),
  );
  await loadPast(true);
  return () => {
    stopped = true;
    clearTimeout(pollTimer);
  };
}
