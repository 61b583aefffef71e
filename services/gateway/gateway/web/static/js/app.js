// The dashboard's shell: routes, the top bar, who is signed in, and sign-out. Each page is a
// module in pages/ exporting `title` and `render(main, ctx)`; it is loaded when first visited.

import { api } from "./api.js";
import { clear, errorBox, h } from "./ui.js";

const ROUTES = {
  "/": { module: "overview", nav: "Overview" },
  "/breakdown": { module: "breakdown", nav: "Breakdown" },
  "/keys": { module: "keys", nav: "Keys" },
  "/uploads": { module: "uploads", nav: "Uploads" },
  "/audit": { module: "audit", nav: "Audit log" },
  "/alerts": { module: "alerts", nav: "Alerts" },
  "/settings": { module: "settings", nav: "Settings" },
  "/signin": { module: "signin", public: true },
  "/signup": { module: "signup", public: true },
  "/check-email": { module: "check-email", public: true },
  "/forgot-password": { module: "forgot-password", public: true },
};

const main = document.getElementById("main");
const topbar = document.getElementById("topbar");
const assetRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
let account = null;
let cleanup = null;
let renderSeq = 0;
let shownLocation = ""; // path + query of the page drawn last
let firstRender = true;

export function navigate(path, { replace = false } = {}) {
  const url = new URL(path, window.location.origin);
  if (replace) window.history.replaceState({}, "", url);
  else window.history.pushState({}, "", url);
  render();
}

// A page that keeps its own state in the query (filters, ranges) records it here: a new history
// entry (push) or the current one replaced, without drawing the page again. Back/forward then
// re-render from the URL.
function setUrl(url, { push = false } = {}) {
  if (push) window.history.pushState({}, "", url);
  else window.history.replaceState({}, "", url);
  shownLocation = window.location.pathname + window.location.search;
}

async function loadAccount() {
  try {
    account = (await api.get("/v1/me")).account;
  } catch (error) {
    if (error.status === 401) account = null;
    else throw error;
  }
  return account;
}

async function signOut() {
  try {
    await api.post("/web/session/signout");
  } finally {
    account = null;
    clear(main);
    clear(topbar);
    window.location.replace("/signin");
  }
}

function drawTopbar(path) {
  clear(topbar);
  const inner = h("div", { class: "topbar-inner" },
    h("a", { class: "brand", href: account ? "/" : "/signin", "data-link": "" },
      h("img", { src: `${assetRoot}/img/favicon.svg`, alt: "" }), "AICosts"),
  );
  if (account) {
    const nav = h("nav", { class: "nav", "aria-label": "Main" });
    for (const [route, info] of Object.entries(ROUTES)) {
      if (!info.nav) continue;
      nav.append(h("a", { href: route, "data-link": "", "aria-current": route === path ? "page" : null }, info.nav));
    }
    inner.append(nav, h("div", { class: "account-menu" },
      h("span", { class: "who" }, account.email),
      h("button", { type: "button", id: "sign-out", onclick: signOut }, "Sign out"),
    ));
  }
  topbar.append(inner);
}

async function render() {
  const seq = ++renderSeq;
  shownLocation = window.location.pathname + window.location.search;
  const path = window.location.pathname.replace(/\/+$/, "") || "/";
  const route = ROUTES[path];
  if (typeof cleanup === "function") cleanup();
  cleanup = null;
  if (!route) {
    navigate("/", { replace: true });
    return;
  }
  try {
    if (!route.public && !account && !(await loadAccount())) {
      const next = path === "/" ? "" : `?next=${encodeURIComponent(path + window.location.search)}`;
      navigate(`/signin${next}`, { replace: true });
      return;
    }
    if (route.public && route.module === "signin" && account) {
      navigate("/", { replace: true });
      return;
    }
    const page = await import(`./pages/${route.module}.js`);
    if (seq !== renderSeq) return;
    drawTopbar(path);
    clear(main);
    document.title = `${page.title} · AICosts`;
    const ctx = { account, navigate, setUrl, reloadAccount: loadAccount, params: new URLSearchParams(window.location.search) };
    cleanup = await page.render(main, ctx);
    // After an in-app navigation, focus moves to the new page's heading (screen readers announce
    // it); a full page load keeps the browser's own start, so the first Tab reaches the skip link.
    if (seq === renderSeq && !firstRender) (main.querySelector("h1") || main).focus({ preventScroll: true });
    firstRender = false;
  } catch (error) {
    if (seq !== renderSeq) return;
    clear(main);
    main.append(errorBox(error), h("p", {}, h("a", { href: window.location.pathname, "data-link": "" }, "Try again")));
  }
}

document.addEventListener("click", (event) => {
  const link = event.target.closest?.("a[data-link]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const url = new URL(link.href);
  if (url.origin !== window.location.origin) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

// Back/forward between pages; a change of the #fragment alone (the skip link, in-page links) is not one.
window.addEventListener("popstate", () => {
  if (window.location.pathname + window.location.search !== shownLocation) render();
});
// A signed-out session anywhere (expired, signed out in another tab): back to sign-in.
window.addEventListener("aicosts:signed-out", () => {
  if (!account) return;
  account = null;
  clear(main);
  window.location.replace(`/signin?next=${encodeURIComponent(window.location.pathname)}`);
});
// A page restored from the back/forward cache is drawn again from the server, never from memory.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) window.location.reload();
});


render();
