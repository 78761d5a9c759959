// Shared helpers of the dashboard's modules: DOM building, the API client,
// the error box and formatting.
const errorBox = document.getElementById("error");

/** The bearer token of this tab, or "". */
export function token() {
  return sessionStorage.getItem("keel-token") ?? "";
}

/** Shows an error in the alert box. */
export function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

/** Hides the alert box. */
export function clearError() {
  errorBox.hidden = true;
  errorBox.textContent = "";
}

/** An element with attributes (`text` sets its text) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

/** An SVG element with attributes and children. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children) node.append(child);
  return node;
}

/** Fetches `path` with the token; throws an Error with the problem's detail when not ok. */
export async function api(path, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (token() !== "") headers.authorization = `Bearer ${token()}`;
  const response = await fetch(path, { ...init, headers });
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      detail = `${response.status}: ${body.detail ?? JSON.stringify(body)}`;
    } catch { /* not JSON: keep the status line */ }
    throw new Error(`${init.method ?? "GET"} ${path} failed: ${detail}`);
  }
  return response;
}

/** GETs JSON. */
export async function getJson(path) {
  return await (await api(path)).json();
}

/** Saves what `path` answers as a file (a plain link would not carry the token). */
export async function download(path, filename) {
  try {
    const blob = await (await api(path)).blob();
    const url = URL.createObjectURL(blob);
    el("a", { href: url, download: filename }).click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (error) {
    showError(error.message);
  }
}

/** A duration in words: `850 ms`, `12.5 s`, `4 min 10 s`, `3 h 05 min`, `2 d 4 h`. */
export function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, "0")} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A time in the reader's locale. */
export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "–";
}

/** A section with a heading. */
export function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return el("section", { "aria-labelledby": id }, el("h3", { id, text: title }), ...children);
}
