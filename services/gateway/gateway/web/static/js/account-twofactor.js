// Settings → Two-factor sign-in: set up TOTP (QR code and the secret as text), confirm with a
// code, show the backup codes once (download / copy), replace the backup codes, turn it off.
// After any change the API ends the account's OTHER sessions; the page reloads the account.

import { api } from "./api.js";
import { confirmDialog, field, h, notice, onSubmit, toast } from "./ui.js";

// The QR code arrives as SVG text: shown as an image from a data: URI, never as markup. Inline
// SVG text may lack what a standalone SVG file needs: the namespace, and a viewBox to scale by.
export function svgDataUri(svgText) {
  let text = String(svgText).trim();
  const open = /^<svg\b[^>]*>/.exec(text)?.[0] || "";
  let tag = open;
  if (tag && !/\sxmlns=/.test(tag)) tag = tag.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"');
  const size = /\swidth="(\d+(?:\.\d+)?)"[^>]*\sheight="(\d+(?:\.\d+)?)"/.exec(tag);
  if (size && !/\sviewBox=/.test(tag)) tag = tag.replace("<svg", `<svg viewBox="0 0 ${size[1]} ${size[2]}"`);
  if (tag !== open) text = tag + text.slice(open.length);
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

export function groupSecret(secret) {
  return String(secret).replace(/\s+/g, "").replace(/(.{4})(?=.)/g, "$1 ");
}

async function copyText(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    toast(`${what} copied to the clipboard.`);
  } catch {
    toast(`Could not copy: select the ${what.toLowerCase()} and copy it yourself.`);
  }
}

function saveBackupCodes(codes, email) {
  const lines = [
    "AICosts backup codes",
    `Account: ${email}`,
    `Created: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    "Each code signs you in once when you cannot use your authenticator app.",
    "Keep them somewhere safe, like a password manager.",
    "",
    ...codes,
    "",
  ];
  const blob = new Blob([lines.join("\n")], { type: "text/plain" });
  const link = h("a", { href: URL.createObjectURL(blob), download: "aicosts-backup-codes.txt", class: "visually-hidden" }, "download");
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

function passwordField(hint) {
  return field({ label: "Current password", name: "password", type: "password", autocomplete: "current-password", required: true, hint });
}

function codeField(hint = "A 6-digit code from your authenticator app, or one of your backup codes.") {
  return field({ label: "Authenticator or backup code", name: "code", inputmode: "text", autocomplete: "one-time-code", required: true, maxlength: 64, hint });
}

// body: the section's content element; state: {account(), reload()} from the settings page.
export function twoFactorSection(body, state) {
  const draw = (view) => body.replaceChildren(...view.filter(Boolean));

  function off() {
    const account = state.account();
    const start = h("button", { type: "button", class: "primary", id: "start-2fa" }, "Set up two-factor sign-in");
    const view = [
      h("p", {}, h("span", { class: "badge" }, "Off"), " Two-factor sign-in is off. Turn it on so that a stolen password alone cannot open your account: signing in will also ask for a code from an authenticator app on your phone."),
      account.email_verified ? null : notice("warn", "Confirm your email address first (see Profile above): two-factor sign-in needs a confirmed address."),
      h("div", { class: "row" }, start),
    ];
    start.addEventListener("click", () => askPassword());
    draw(view);
  }

  function askPassword() {
    const form = h("form", { class: "account-subform", novalidate: true, "aria-labelledby": "tf-step1" },
      h("h3", { id: "tf-step1" }, "Step 1 of 3: your password"),
      passwordField("To start, confirm it is you."),
      h("div", { class: "row" },
        h("button", { type: "submit", class: "primary" }, "Continue"),
        h("button", { type: "button", onclick: off }, "Cancel"),
      ),
    );
    onSubmit(form, async (data) => {
      const setup = await api.post("/v1/me/2fa/setup", { password: data.get("password") });
      scan(setup);
    }, ["password"]);
    draw([form]);
    form.querySelector("input").focus();
  }

  function scan(setup) {
    const grouped = groupSecret(setup.secret);
    const form = h("form", { class: "account-subform", novalidate: true, "aria-labelledby": "tf-step3" },
      h("h3", { id: "tf-step3" }, "Step 3 of 3: enter a code"),
      h("p", {}, "Type the 6-digit code your app now shows for AICosts, and your password once more."),
      field({ label: "Code from the app", name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true, maxlength: 10 }),
      passwordField(),
      h("div", { class: "row" },
        h("button", { type: "submit", class: "primary" }, "Turn on two-factor sign-in"),
        h("button", { type: "button", onclick: off }, "Cancel"),
      ),
    );
    onSubmit(form, async (data) => {
      const reply = await api.post("/v1/me/2fa/confirm", { password: data.get("password"), code: String(data.get("code")).replace(/\s+/g, "") });
      await state.reload();
      showCodes(reply.backup_codes, "Two-factor sign-in is on. Your other sessions have been signed out.");
    }, ["password", "code"]);
    draw([
      h("div", { class: "account-scan" },
        h("div", { class: "account-qr" },
          h("img", { src: svgDataUri(setup.qr_svg), alt: "QR code for adding AICosts to an authenticator app", width: 200, height: 200 }),
        ),
        h("div", { class: "account-scan-text" },
          h("h3", {}, "Step 2 of 3: add AICosts to your authenticator app"),
          h("p", {}, "Scan the QR code with an authenticator app (for example 1Password, Google Authenticator, Microsoft Authenticator or Aegis)."),
          h("p", { id: "tf-secret-label" }, "Cannot scan it? Add an account by hand with this key (time-based):"),
          h("div", { class: "row" },
            h("code", { class: "account-secret", id: "totp-secret", "aria-labelledby": "tf-secret-label" }, grouped),
            h("button", { type: "button", onclick: () => copyText(setup.secret, "Key") }, "Copy key"),
          ),
        ),
      ),
      form,
    ]);
    form.querySelector("input").focus();
  }

  function showCodes(codes, headline) {
    const email = state.account().email;
    const done = h("button", { type: "button", class: "primary" }, "I have saved them");
    done.addEventListener("click", () => {
      on();
      body.closest("section")?.querySelector("h2")?.focus();
    });
    draw([
      notice("ok", headline),
      h("h3", { id: "backup-title", tabindex: "-1" }, "Your backup codes"),
      notice("warn", "Save these codes now: they are shown only this once. Each one signs you in once if you lose your phone."),
      h("ol", { class: "account-codes", "aria-labelledby": "backup-title" }, codes.map((code) => h("li", {}, h("code", {}, code)))),
      h("div", { class: "row" },
        h("button", { type: "button", onclick: () => saveBackupCodes(codes, email) }, "Download as .txt"),
        h("button", { type: "button", onclick: () => copyText(codes.join("\n"), "Backup codes") }, "Copy"),
        done,
      ),
    ]);
    body.querySelector("#backup-title").focus();
  }

  function actionForm(legend, intro, button, kind, handler) {
    const form = h("form", { class: "account-subform", novalidate: true },
      h("p", {}, intro),
      passwordField(),
      codeField(),
      h("div", { class: "row" }, h("button", { type: "submit", class: kind }, button)),
    );
    onSubmit(form, (data) => handler({ password: data.get("password"), code: String(data.get("code")).trim() }), ["password", "code"]);
    return h("details", { class: "account-disclosure" }, h("summary", {}, legend), form);
  }

  function on() {
    const regenerate = actionForm(
      "Replace the backup codes",
      "Makes 10 new backup codes; the old ones stop working. Your other sessions are signed out.",
      "Make new backup codes", "primary",
      async (body_) => {
        const reply = await api.post("/v1/me/2fa/backup-codes", body_);
        await state.reload();
        showCodes(reply.backup_codes, "New backup codes are ready; the old ones no longer work. Your other sessions have been signed out.");
      },
    );
    const disable = actionForm(
      "Turn off two-factor sign-in",
      "Signing in will need only your password again. Your other sessions are signed out.",
      "Turn off two-factor sign-in", "danger",
      async (body_) => {
        if (!(await confirmDialog("Turn off two-factor sign-in?", "Anyone who learns your password could then sign in.", "Turn off"))) return;
        await api.post("/v1/me/2fa/disable", body_);
        await state.reload();
        off();
        body.prepend(notice("ok", "Two-factor sign-in is off. Your other sessions have been signed out."));
      },
    );
    draw([
      h("p", {}, h("span", { class: "badge ok" }, "On"), " Signing in asks for a code from your authenticator app (or a backup code) after your password."),
      regenerate,
      disable,
    ]);
  }

  if (state.account().totp_enabled) on();
  else off();
}
