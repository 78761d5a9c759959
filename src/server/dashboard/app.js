// The Keel dashboard: hash routes over the JSON API, polling for live updates.
const main = document.getElementById("main");
const errorBox = document.getElementById("error");
const tokenInput = document.getElementById("token");
const tokenState = document.getElementById("token-state");
let config = { temporal_ui_url: null, public_read: false };
let timer;

function token() {
  return sessionStorage.getItem("keel-token") ?? "";
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function clearError() {
  errorBox.hidden = true;
  errorBox.textContent = "";
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function api(path, init = {}) {
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
    row.append(el("td", { text: new Date(d.created_at).toLocaleString() }));
    row.append(el("td", { text: d.issued_by }));
    body.append(row);
  }
  table.append(body);
  if (items.length === 0) body.append(el("tr", {}, el("td", { colspan: "5", text: "None." })));
  return table;
}

async function listView(params) {
  const status = params.get("status") ?? "";
  const type = params.get("type") ?? "";
  const form = el("form", { id: "filters", "aria-label": "Filters" });
  const statusSelect = el("select", { id: "status", name: "status" });
  for (
    const s of ["", "draft", "proposed", "approved", "executing", "complete", "blocked", "aborted"]
  ) {
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
  const list = await (await api(`/api/directives?${query}`)).json();
  return [el("h2", { text: "Directives" }), form, directiveTable(list.items, "Most recent first")];
}

async function inboxView() {
  const list = await (await api(`/api/directives?status=proposed&limit=200`)).json();
  const items = [...list.items].sort((a, b) => a.created_at < b.created_at ? -1 : 1);
  return [
    el("h2", { text: "Approval inbox" }),
    directiveTable(items, "Awaiting a decision, oldest first"),
  ];
}

function section(title, ...children) {
  return el("section", {}, el("h3", { text: title }), ...children);
}

async function artifactBlock(id, artifact) {
  const href = `/api/directives/${id}/artifacts/${artifact.id}`;
  // A plain link would not carry the bearer token: fetch, then save the blob.
  const download = el("button", { type: "button", text: "download" });
  download.addEventListener("click", async () => {
    try {
      const blob = await (await api(href)).blob();
      const url = URL.createObjectURL(blob);
      const link = el("a", { href: url, download: `${artifact.kind}-${artifact.id}` });
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      showError(error.message);
    }
  });
  const item = el(
    "li",
    {},
    `${artifact.kind} (${artifact.content_type}, ${artifact.size_bytes} bytes) `,
    download,
  );
  const textual = /^(text\/|application\/json)/.test(artifact.content_type);
  if (textual && Number(artifact.size_bytes) <= 16384) {
    const text = await (await api(href)).text();
    item.append(el("pre", { "aria-label": `${artifact.kind} preview`, text }));
  }
  return item;
}

function decisionForm(id) {
  const form = el("form", { id: "decide", "aria-label": "Decision" });
  const reason = el("textarea", { id: "reason", required: "", rows: "2" });
  const approve = el("button", { type: "submit", value: "approve", text: "Approve" });
  const reject = el("button", { type: "submit", value: "reject", text: "Reject" });
  form.append(
    el("label", { for: "reason", text: "Reason (required)" }),
    el("br"),
    reason,
    el("br"),
    approve,
    " ",
    reject,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const action = event.submitter?.value ?? "approve";
    if (reason.value.trim() === "") return showError("A reason is required to decide.");
    try {
      await api(`/api/directives/${id}/${action}`, {
        method: "POST",
        body: JSON.stringify({ reason: reason.value.trim() }),
      });
      clearError();
      await render();
    } catch (error) {
      showError(error.message);
    }
  });
  return form;
}

/**
 * "N of M approvals" (M from the latest policy verdict; N counts distinct
 * approvers, as the quorum does) and every decision recorded, oldest first.
 */
function approvalNodes(detail) {
  const decisions = [...detail.approvals].sort((a, b) => a.decided_at < b.decided_at ? -1 : 1);
  const approvers = new Set(
    decisions.filter((a) => a.decision === "approved").map((a) => a.actor),
  );
  const latest = detail.policy.at(-1);
  const required = latest?.approvals_required;
  const quorum = required == null
    ? `${approvers.size} approvals (no policy verdict yet)`
    : `${approvers.size} of ${required} approvals`;
  const list = el("ul", { id: "approvals" });
  for (const a of decisions) {
    list.append(el("li", {
      text: `${new Date(a.decided_at).toLocaleString()} — ${a.actor} ${a.decision}: ${a.reason}`,
    }));
  }
  if (decisions.length === 0) list.append(el("li", { text: "no decision yet" }));
  return [el("p", { id: "quorum", class: "quorum", text: quorum }), list];
}

async function directiveView(id) {
  const d = await (await api(`/api/directives/${id}`)).json();
  const dir = d.directive;
  const nodes = [el("h2", { text: dir.objective })];
  const facts = el("dl");
  const fact = (k, v) => facts.append(el("dt", { text: k }), el("dd", {}, v));
  fact("Status", el("span", { class: "status", id: "directive-status", text: dir.status }));
  fact("Type", dir.type);
  fact("Issued by", dir.issued_by);
  fact("Submitted by", el("span", { id: "submitted-by", text: dir.submitted_by ?? "unknown" }));
  fact("Id", dir.id);
  if (config.temporal_ui_url) {
    const url = `${config.temporal_ui_url}/namespaces/default/workflows/${
      encodeURIComponent(d.workflow_id)
    }`;
    fact(
      "Workflow",
      el("a", { href: url, target: "_blank", rel: "noopener", text: d.workflow_id }),
    );
  }
  fact("Trace", d.directive.trace_id ?? "not traced (no OTEL_EXPORTER_OTLP_ENDPOINT at submit)");
  nodes.push(facts);
  nodes.push(section("Approvals", ...approvalNodes(d)));
  if (dir.status === "proposed") nodes.push(section("Decide", decisionForm(id)));
  const ledger = el("ol", { id: "ledger" });
  for (const t of d.ledger) {
    ledger.append(el("li", {
      text: `${new Date(t.at).toLocaleString()} — ${
        t.from_status ?? "∅"
      } → ${t.to_status} by ${t.actor}${t.reason ? `: ${t.reason}` : ""}`,
    }));
  }
  nodes.push(section("Ledger", ledger));
  const policy = el("ul");
  for (const p of d.policy) {
    policy.append(
      el("li", {
        text: `${p.verdict}${
          p.auto_approve ? " (auto-approve)" : ""
        } — ${p.reason} (policy ${p.policy_name} version ${p.policy_version})${
          p.verdict === "ALLOW" ? ` — grants: ${grantsText(p.granted_permissions)}` : ""
        }`,
      }),
    );
  }
  nodes.push(section("Policy verdicts", policy));
  const runs = el("ul");
  for (const r of d.runs) {
    runs.append(
      el("li", {
        text: `attempt ${r.attempt}: ${r.status}${
          r.duration_ms == null ? "" : `, ${r.duration_ms} ms`
        }`,
      }),
    );
  }
  nodes.push(section("Runs", runs));
  const artifacts = el("ul", { id: "artifacts" });
  for (const a of d.artifacts) artifacts.append(await artifactBlock(id, a));
  nodes.push(section("Artifacts", artifacts));
  const evals = el("ul");
  for (const e of d.evaluations) evals.append(el("li", { text: `${e.evaluator}: ${e.score}` }));
  nodes.push(section("Evaluations", evals));
  return nodes;
}

async function render() {
  clearTimeout(timer);
  const [path, search] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(search ?? "");
  try {
    if (!config.public_read && token() === "") {
      main.replaceChildren(
        el("p", { id: "token-needed", text: "Enter an API token with the read scope above." }),
      );
      return;
    }
    let nodes;
    if (path?.startsWith("/d/")) nodes = await directiveView(path.slice(3));
    else if (path === "/inbox") nodes = await inboxView();
    else nodes = await listView(params);
    const focused = document.activeElement?.id;
    const typing = focused === "reason" ? main.querySelector("#reason")?.value : undefined;
    if (typing) return; // never wipe a reason being typed; poll again later
    main.replaceChildren(...nodes);
    if (focused) document.getElementById(focused)?.focus();
  } catch (error) {
    showError(error.message);
  } finally {
    timer = setTimeout(render, 2000);
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

/** A granted permission set in one line, as `keel status` prints it. */
function grantsText(granted) {
  if (granted === null || granted === undefined) return "as the module declares";
  const parts = ["net", "read", "write", "env"]
    .filter((kind) => (granted[kind]?.length ?? 0) > 0)
    .map((kind) => `${kind} ${granted[kind].join(", ")}`);
  return parts.length > 0 ? parts.join("; ") : "nothing (no net, files, env or processes)";
}
