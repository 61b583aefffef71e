// The REST API, called with the browser session cookie. Writes carry the CSRF header; a 401 is
// answered by one refresh of the session (one at a time across tabs) and one retry. Errors become
// ApiError with the problem document's detail, field errors and request id.

const CSRF_COOKIES = ["__Host-aicosts_csrf", "aicosts_csrf"];
const SAFE = new Set(["GET", "HEAD"]);

export class ApiError extends Error {
  constructor(status, problem = {}, requestId = "") {
    super(problem.detail || (status ? `The server answered ${status}.` : "Cannot reach AICosts."));
    this.status = status;
    this.problem = problem;
    this.requestId = problem.request_id || requestId || "";
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.retryAfter = null;
  }
}

export function csrfToken() {
  const cookies = document.cookie.split("; ");
  for (const name of CSRF_COOKIES) {
    const found = cookies.find((c) => c.startsWith(`${name}=`));
    if (found) return decodeURIComponent(found.slice(name.length + 1));
  }
  return "";
}

let refreshing = null;

async function refreshOnce() {
  const run = async () => {
    const response = await fetch("/web/session/refresh", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken() },
    });
    return response.ok;
  };
  // Refresh tokens rotate, and a reused one ends the session: serialise across tabs.
  const locked = navigator.locks ? () => navigator.locks.request("aicosts-session-refresh", run) : run;
  return locked();
}

export function refreshSession() {
  if (!refreshing) {
    refreshing = refreshOnce()
      .catch(() => false)
      .finally(() => setTimeout(() => { refreshing = null; }, 0));
  }
  return refreshing;
}

export function buildUrl(path, query) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    url.searchParams.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  return url;
}

async function toError(response) {
  let problem = {};
  try {
    problem = await response.json();
  } catch {
    problem = {};
  }
  const error = new ApiError(response.status, problem, response.headers.get("X-Request-ID"));
  error.retryAfter = response.headers.get("Retry-After");
  return error;
}

export function signedOut() {
  window.dispatchEvent(new CustomEvent("aicosts:signed-out"));
}

// request("GET", "/v1/usage/summary", {query: {...}}) -> parsed JSON, null for 204, or the
// Response itself when `raw` is set (downloads).
export async function request(method, path, { json, body, query, raw = false, retry = true } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (!SAFE.has(method)) headers["X-CSRF-Token"] = csrfToken();
  let payload = body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(buildUrl(path, query), { method, headers, body: payload, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, { detail: "Cannot reach AICosts. Check your connection and try again." });
  }
  if (response.status === 401 && retry && !path.startsWith("/web/session")) {
    if (await refreshSession()) return request(method, path, { json, body, query, raw, retry: false });
    signedOut();
  }
  if (!response.ok) throw await toError(response);
  if (raw) return response;
  if (response.status === 204 || response.status === 205) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const api = {
  get: (path, query) => request("GET", path, { query }),
  post: (path, json) => request("POST", path, { json: json ?? {} }),
  patch: (path, json) => request("PATCH", path, { json }),
  put: (path, json) => request("PUT", path, { json }),
  del: (path) => request("DELETE", path),
};

// Upload a FormData with progress (fetch has no upload progress). onProgress(fraction 0..1).
export function upload(path, formData, onProgress, retry = true) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.withCredentials = true;
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Accept", "application/json, application/problem+json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    };
    xhr.onerror = () => reject(new ApiError(0, { detail: "The upload was interrupted. Check your connection and try again." }));
    xhr.onload = async () => {
      let parsed = {};
      try {
        parsed = xhr.responseText ? JSON.parse(xhr.responseText) : {};
      } catch {
        parsed = {};
      }
      if (xhr.status === 401 && retry) {
        if (await refreshSession()) {
          upload(path, formData, onProgress, false).then(resolve, reject);
          return;
        }
        signedOut();
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(parsed);
      else reject(new ApiError(xhr.status, parsed, xhr.getResponseHeader("X-Request-ID")));
    };
    xhr.send(formData);
  });
}

// Save a download from an authenticated GET (CSV exports) under the server's file name.
export async function download(path, query, fallbackName) {
  const response = await request("GET", path, { query, raw: true });
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename="?([^";]+)"?/.exec(disposition);
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = match ? match[1] : fallbackName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}
