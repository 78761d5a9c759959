// The Keel dashboard: hash routes over the JSON API, redrawn when the change
// feed (GET /api/events) reports a change, and polled as a fallback.
// ES modules from this folder; no inline script (the CSP allows 'self' only).
import { api, clearError, el, showError, token } from "./dom.js";
import { listView } from "./list.js";
import { inboxView, syncSelection } from "./inbox.js";
import { directiveView } from "./directive.js";
import { overviewView } from "./overview.js";
import { liveConnected, startLive } from "./live.js";

const main = document.getElementById("main");
const tokenInput = document.getElementById("token");
const tokenState = document.getElementById("token-state");
let config = { temporal_ui_url: null, public_read: false };
let timer;
let generation = 0;

/** How often each page polls: rarely while the feed is open; the overview's aggregates less often. */
function pollMs(path) {
  if (liveConnected()) return 30_000;
  return path === "/overview" ? 15_000 : 2000;
}

let following = false;
/** Opens the change feed once the page may read (a token, or public reads). */
function followChanges() {
  if (following || (!config.public_read && token() === "")) return;
  following = true;
  void startLive(changed, (state) => main.setAttribute("data-live", state));
}

let pending;
/** A change arrived: redraw soon (changes in a burst draw once). */
function changed() {
  clearTimeout(pending);
  pending = setTimeout(() => render("event"), 100);
}

function markNav(path) {
  for (const link of document.querySelectorAll("nav a")) {
    const target = link.getAttribute("href").replace(/^#/, "");
    if (target === (path === "" ? "/" : path)) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

/**
 * Draws the page for the current hash. Renders may overlap (a poll, a
 * decision, a hash change): only the latest draws and schedules the next poll.
 */
async function render(cause = "load") {
  clearTimeout(timer);
  const mine = ++generation;
  const fresh = () => mine === generation;
  const [path = "", search] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(search ?? "");
  markNav(path);
  try {
    if (!config.public_read && token() === "") {
      main.replaceChildren(
        el("p", { id: "token-needed", text: "Enter an API token with the read scope above." }),
      );
      return;
    }
    let nodes;
    if (path.startsWith("/d/")) {
      nodes = await directiveView(path.slice(3), config, () => render("action"));
    } else if (path === "/inbox") nodes = await inboxView(() => render("action"), fresh);
    else if (path === "/overview") nodes = await overviewView(params);
    else nodes = await listView(params);
    if (!fresh()) return;
    const focused = document.activeElement?.id;
    const typing = focused === "reason" ? main.querySelector("#reason")?.value : undefined;
    if (typing) return; // never wipe a reason being typed; poll again later
    const open = [...main.querySelectorAll("details[open]")].map((d) => d.parentElement?.id);
    main.replaceChildren(...nodes);
    for (const id of open) {
      document.querySelector(`#${CSS.escape(id ?? "")} details`)?.setAttribute("open", "");
    }
    if (focused) document.getElementById(focused)?.focus();
    if (path === "/inbox") syncSelection();
    main.setAttribute("data-rendered", path || "/");
    // What drew this: "event" (the change feed), "poll", "load" or "action".
    main.setAttribute("data-cause", typeof cause === "string" ? cause : "load");
  } catch (error) {
    if (fresh()) showError(error.message);
  } finally {
    if (fresh()) timer = setTimeout(() => render("poll"), pollMs(path));
  }
}

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("keel-token", tokenInput.value);
  tokenInput.value = "";
  tokenState.textContent = tokenText();
  clearError();
  followChanges();
  render();
});

function tokenText() {
  if (token()) return "token set for this tab";
  return config.public_read ? "no token: reading only" : "no token: enter one to read";
}

globalThis.addEventListener("hashchange", () => render("load"));
try {
  config = await (await api("/api/config")).json();
} catch (error) {
  showError(error.message);
}
tokenState.textContent = tokenText();
followChanges();
await render();
