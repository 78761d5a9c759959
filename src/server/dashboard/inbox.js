// The approval inbox: what waits for a decision, oldest first, driven from
// the keyboard (j/k move, Enter/o open, a approve, r reject; both ask for a
// reason in a dialog).
import { api, clearError, duration, el, getJson, showError, when } from "./dom.js";

let items = [];
let selected = null;
let onDecided = () => {};

const dialog = document.getElementById("decision-dialog");
const form = document.getElementById("decision-form");
const title = document.getElementById("decision-title");
const what = document.getElementById("decision-what");
const reason = document.getElementById("decision-reason");
const confirm = document.getElementById("decision-confirm");
let pending = null;

/** The keys, as the page lists them. */
const KEYS = [
  ["j", "select the next directive"],
  ["k", "select the previous directive"],
  ["Enter or o", "open the selected directive"],
  ["a", "approve the selected directive (asks for a reason)"],
  ["r", "reject the selected directive (asks for a reason)"],
  ["Escape", "close the reason dialog"],
];

function left(deadline) {
  if (!deadline) return "no deadline known";
  const ms = new Date(deadline).getTime() - Date.now();
  return ms <= 0 ? `${when(deadline)} (passed)` : `${when(deadline)} (in ${duration(ms)})`;
}

function rowOf(item) {
  const isSelected = item.id === selected;
  const row = el("tr", {
    id: `row-${item.id}`,
    "data-id": item.id,
    tabindex: isSelected ? "0" : "-1",
    ...(isSelected ? { "aria-current": "true", class: "selected" } : {}),
  });
  row.append(
    el("td", {}, el("a", { href: `#/d/${item.id}`, tabindex: "-1", text: item.objective })),
    el("td", { text: item.type }),
    el("td", { class: "num", text: `${item.budget_amount} ${item.budget_currency}` }),
    el("td", { class: "waiting", text: duration(item.waiting_ms) }),
    el("td", { text: left(item.deadline) }),
    el("td", {
      class: "num",
      text: `${item.approvals} of ${item.approvals_required ?? "?"}`,
    }),
    el("td", { text: item.issued_by }),
  );
  row.addEventListener("click", (event) => {
    if (event.target.closest("a")) return;
    select(item.id);
  });
  return row;
}

function select(id) {
  selected = id;
  syncSelection();
  document.getElementById(`row-${id}`)?.focus();
}

/**
 * Marks the selected row in what is on the page now: a poll may have drawn
 * rows built before the last key press. Focus follows when it was on a row.
 */
export function syncSelection() {
  const onRow = document.activeElement?.matches?.("#inbox tbody tr") ?? false;
  for (const row of document.querySelectorAll("#inbox tbody tr[data-id]")) {
    const isSelected = row.dataset.id === selected;
    row.setAttribute("tabindex", isSelected ? "0" : "-1");
    row.classList.toggle("selected", isSelected);
    if (isSelected) row.setAttribute("aria-current", "true");
    else row.removeAttribute("aria-current");
    if (isSelected && onRow) row.focus();
  }
}

function move(step) {
  if (items.length === 0) return;
  const at = Math.max(0, items.findIndex((i) => i.id === selected));
  select(items[Math.min(items.length - 1, Math.max(0, at + step))].id);
}

function openDecision(action) {
  const item = items.find((i) => i.id === selected);
  if (!item) return;
  pending = { action, id: item.id };
  const verb = action === "approve" ? "Approve" : "Reject";
  title.textContent = `${verb} directive`;
  what.textContent =
    `${item.objective} (${item.type}, ${item.budget_amount} ${item.budget_currency})`;
  confirm.textContent = verb;
  reason.value = "";
  dialog.showModal();
  reason.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!pending) return;
  if (reason.value.trim() === "") return showError("A reason is required to decide.");
  const { action, id } = pending;
  try {
    await api(`/api/directives/${id}/${action}`, {
      method: "POST",
      body: JSON.stringify({ reason: reason.value.trim() }),
    });
    clearError();
    pending = null;
    dialog.close();
    onDecided();
  } catch (error) {
    showError(error.message);
  }
});
document.getElementById("decision-cancel").addEventListener("click", () => dialog.close());

document.addEventListener("keydown", (event) => {
  if (!location.hash.startsWith("#/inbox") || dialog.open) return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  // Typing goes to fields; Enter on a button or link keeps its own meaning.
  if (event.target.closest?.("input, textarea, select, dialog, [contenteditable]")) return;
  if (event.key === "Enter" && event.target.closest?.("a, button")) return;
  const actions = {
    j: () => move(1),
    k: () => move(-1),
    o: () => selected && (location.hash = `#/d/${selected}`),
    Enter: () => selected && (location.hash = `#/d/${selected}`),
    a: () => openDecision("approve"),
    r: () => openDecision("reject"),
  };
  const act = actions[event.key];
  if (act) {
    event.preventDefault();
    act();
  }
});

/**
 * The inbox page; `rerender` runs after a decision. `fresh` says whether this
 * render is still the latest: an older one must not replace the list the keys
 * act on.
 */
export async function inboxView(rerender, fresh) {
  onDecided = rerender;
  const inbox = await getJson("/api/inbox?limit=200");
  if (!fresh()) return [];
  items = inbox.items;
  if (!items.some((i) => i.id === selected)) selected = items[0]?.id ?? null;
  const table = el(
    "table",
    { id: "inbox" },
    el("caption", {
      text: `Awaiting a decision, oldest first (${items.length} of ${inbox.total})`,
    }),
  );
  const head = el("tr");
  for (
    const name of ["Objective", "Type", "Budget", "Waiting", "Deadline", "Approvals", "Issued by"]
  ) {
    head.append(el("th", { scope: "col", text: name }));
  }
  const body = el("tbody");
  for (const item of items) body.append(rowOf(item));
  if (items.length === 0) body.append(el("tr", {}, el("td", { colspan: "7", text: "None." })));
  table.append(el("thead", {}, head), body);
  const keys = el("dl", { class: "keys" });
  for (const [key, meaning] of KEYS) {
    keys.append(el("dt", {}, el("kbd", { text: key })), el("dd", { text: meaning }));
  }
  return [
    el("h2", { text: "Approval inbox" }),
    table,
    el(
      "section",
      { "aria-labelledby": "keys-title" },
      el("h3", { id: "keys-title", text: "Keyboard" }),
      keys,
    ),
  ];
}
