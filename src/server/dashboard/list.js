// The directive list: newest first, filtered by status and type.
import { el, getJson, when } from "./dom.js";

const STATUSES = [
  "",
  "draft",
  "proposed",
  "approved",
  "executing",
  "complete",
  "blocked",
  "aborted",
];

function directiveTable(items, caption) {
  const table = el("table", {}, el("caption", { text: caption }));
  const head = el("tr");
  for (const name of ["Objective", "Type", "Status", "Created", "Issued by"]) {
    head.append(el("th", { scope: "col", text: name }));
  }
  table.append(el("thead", {}, head));
  const body = el("tbody");
  for (const d of items) {
    const row = el("tr", { "data-id": d.id });
    row.append(el("td", {}, el("a", { href: `#/d/${d.id}`, text: d.objective })));
    row.append(el("td", { text: d.type }));
    row.append(el("td", { class: "status", text: d.status }));
    row.append(el("td", { text: when(d.created_at) }));
    row.append(el("td", { text: d.issued_by }));
    body.append(row);
  }
  if (items.length === 0) body.append(el("tr", {}, el("td", { colspan: "5", text: "None." })));
  table.append(body);
  return table;
}

/** The list page. */
export async function listView(params) {
  const status = params.get("status") ?? "";
  const type = params.get("type") ?? "";
  const form = el("form", { id: "filters", "aria-label": "Filters" });
  const statusSelect = el("select", { id: "status", name: "status" });
  for (const s of STATUSES) {
    const option = el("option", { value: s, text: s === "" ? "any" : s });
    if (s === status) option.selected = true;
    statusSelect.append(option);
  }
  const typeInput = el("input", { id: "type", name: "type", value: type });
  form.append(
    el("label", { for: "status", text: "Status" }),
    statusSelect,
    " ",
    el("label", { for: "type", text: "Type" }),
    typeInput,
    " ",
    el("button", { type: "submit", text: "Filter" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    if (statusSelect.value) q.set("status", statusSelect.value);
    if (typeInput.value.trim()) q.set("type", typeInput.value.trim());
    location.hash = `#/?${q}`;
  });
  const query = new URLSearchParams();
  if (status) query.set("status", status);
  if (type) query.set("type", type);
  const list = await getJson(`/api/directives?${query}`);
  return [el("h2", { text: "Directives" }), form, directiveTable(list.items, "Most recent first")];
}
