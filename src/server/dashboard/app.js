// The Keel dashboard: hash routes over the JSON API, polling for live updates.
// ES modules from this folder; no inline script (the CSP allows 'self' only).
import { api, clearError, el, showError, token } from "./dom.js";
import { listView } from "./list.js";
import { inboxView, syncSelection } from "./inbox.js";
import { directiveView } from "./directive.js";
import { overviewView } from "./overview.js";

const main = document.getElementById("main");
const tokenInput = document.getElementById("token");
const tokenState = document.getElementById("token-state");
let config = { temporal_ui_url: null, public_read: false };
let timer;
let generation = 0;

/** How often each page polls: the overview's aggregates less often. */
function pollMs(path) {
  return path === "/overview" ? 15_000 : 2000;
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
async function render() {
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
    if (path.startsWith("/d/")) nodes = await directiveView(path.slice(3), config, render);
    else if (path === "/inbox") nodes = await inboxView(render, fresh);
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
  } catch (error) {
    if (fresh()) showError(error.message);
  } finally {
    if (fresh()) timer = setTimeout(render, pollMs(path));
  }
}

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("keel-token", tokenInput.value);
  tokenInput.value = "";
  tokenState.textContent = tokenText();
  clearError();
  render();
});

function tokenText() {
  if (token()) return "token set for this tab";
  return config.public_read ? "no token: reading only" : "no token: enter one to read";
}

globalThis.addEventListener("hashchange", render);
try {
  config = await (await api("/api/config")).json();
} catch (error) {
  showError(error.message);
}
tokenState.textContent = tokenText();
await render();
