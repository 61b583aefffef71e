// Settings → Sessions: where the account is signed in, ending one session, every other one, or
// all of them (then this browser goes back to sign-in).

import { api } from "./api.js";
import { ago, confirmDialog, errorBox, h, localTime, notice, toast } from "./ui.js";

// "Chrome on Linux" from a User-Agent header; API clients keep their own name.
export function describeAgent(ua) {
  const text = String(ua || "").trim();
  if (!text) return "Unknown device";
  const browser = [
    [/Edg(e|A|iOS)?\//, "Edge"], [/OPR\/|Opera/, "Opera"], [/Firefox\/|FxiOS/, "Firefox"],
    [/Chrome\/|CriOS|Chromium/, "Chrome"], [/Version\/[\d.]+.*Safari\//, "Safari"],
  ].find(([re]) => re.test(text))?.[1];
  const os = [
    [/iPhone|iPad|iPod/, "iOS"], [/Android/, "Android"], [/Windows/, "Windows"], [/CrOS/, "ChromeOS"],
    [/Mac OS X|Macintosh/, "macOS"], [/Linux/, "Linux"],
  ].find(([re]) => re.test(text))?.[1];
  if (browser) return os ? `${browser} on ${os}` : browser;
  return text.split(/[\s;(]/)[0].slice(0, 60) || "Unknown device";
}

export function sessionsSection(body) {
  const list = h("ul", { class: "account-sessions", "aria-label": "Sessions" });
  const status = h("div", { "aria-live": "polite" });
  const others = h("button", { type: "button", id: "sign-out-others" }, "Sign out other sessions");
  const everywhere = h("button", { type: "button", class: "danger", id: "sign-out-everywhere" }, "Sign out everywhere");

  // message: a notice to keep above the refreshed list (what the last action did).
  async function load(message = null) {
    status.replaceChildren(...(message ? [message] : []));
    try {
      const reply = await api.get("/v1/me/sessions");
      draw(reply.sessions || []);
    } catch (error) {
      list.replaceChildren();
      status.replaceChildren(h("p", {}, "The list of sessions could not be loaded."), errorBox(error));
    }
  }

  function draw(sessions) {
    const sorted = [...sessions].sort((a, b) => (b.current - a.current) || String(b.last_used_at || b.created_at).localeCompare(String(a.last_used_at || a.created_at)));
    list.replaceChildren(...sorted.map(item));
    others.disabled = !sessions.some((s) => !s.current);
  }

  function item(s) {
    const name = describeAgent(s.user_agent);
    const end = s.current ? null : h("button", {
      type: "button",
      "aria-label": `Sign out ${name}, signed in ${localTime(s.created_at)}`,
      onclick: async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        try {
          await api.del(`/v1/me/sessions/${encodeURIComponent(s.id)}`);
          toast(`${name} is signed out.`);
          await load();
        } catch (error) {
          status.replaceChildren(errorBox(error));
          button.disabled = false;
        }
      },
    }, "Sign out");
    return h("li", { class: s.current ? "current" : null },
      h("div", { class: "account-session-main" },
        h("div", {},
          h("strong", { title: s.user_agent || null }, name), " ",
          s.current ? h("span", { class: "badge ok" }, "This session") : null,
        ),
        h("div", { class: "subtle" },
          s.client_ip ? h("span", { class: "mono" }, s.client_ip) : "Address unknown",
          " · Last active ", s.current ? "now" : ago(s.last_used_at || s.created_at),
        ),
        h("div", { class: "subtle" }, `Signed in ${localTime(s.created_at)} · Expires ${localTime(s.expires_at)}`),
      ),
      end,
    );
  }

  others.addEventListener("click", async () => {
    others.disabled = true;
    try {
      const reply = await api.post("/v1/me/sessions/sign-out-others");
      const n = Number(reply?.ended || 0);
      await load(notice("ok", n === 1 ? "1 other session was signed out." : `${n} other sessions were signed out.`));
    } catch (error) {
      status.replaceChildren(errorBox(error));
      others.disabled = false;
    }
  });

  everywhere.addEventListener("click", async () => {
    const sure = await confirmDialog("Sign out everywhere?", "Every session ends, this one too: you will need to sign in again on every device.", "Sign out everywhere");
    if (!sure) return;
    everywhere.disabled = true;
    try {
      await api.post("/v1/auth/logout-all");
    } catch (error) {
      status.replaceChildren(errorBox(error));
      everywhere.disabled = false;
      return;
    }
    try {
      await api.post("/web/session/signout"); // clears this browser's cookies
    } catch {
      // The session has already ended; the cookies are useless either way.
    }
    window.location.replace("/signin?reason=signed-out");
  });

  body.append(
    h("p", { class: "subtle" }, "Each sign-in is a session. End any you do not recognise, then change your password. Times are in your time zone."),
    status,
    list,
    h("div", { class: "row" }, others, everywhere),
  );
  return load();
}
