// The directive page: everything an approver needs, the decision form, and
// what happened after.
import { api, clearError, download, duration, el, section, showError, when } from "./dom.js";
import {
  contractSection,
  moduleSection,
  payloadSection,
  timelineSection,
  verdictSection,
} from "./contract.js";

async function artifactBlock(id, artifact) {
  const href = `/api/directives/${id}/artifacts/${artifact.id}`;
  const button = el("button", { type: "button", text: "download" });
  button.addEventListener("click", () => download(href, `${artifact.kind}-${artifact.id}`));
  const item = el(
    "li",
    {},
    `${artifact.kind} (${artifact.content_type}, ${artifact.size_bytes} bytes) `,
    button,
  );
  const textual = /^(text\/|application\/json)/.test(artifact.content_type);
  if (textual && Number(artifact.size_bytes) <= 16384 && artifact.pruned_at === null) {
    const text = await (await api(href)).text();
    item.append(el("pre", { "aria-label": `${artifact.kind} preview`, tabindex: "0", text }));
  }
  return item;
}

function decisionForm(id, rerender) {
  const form = el("form", { id: "decide", "aria-label": "Decision" });
  const reason = el("textarea", { id: "reason", required: "", rows: "2" });
  form.append(
    el("label", { for: "reason", text: "Reason (required)" }),
    el("br"),
    reason,
    el("br"),
    el("button", { type: "submit", value: "approve", text: "Approve" }),
    " ",
    el("button", { type: "submit", value: "reject", text: "Reject" }),
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
      await rerender();
    } catch (error) {
      showError(error.message);
    }
  });
  return form;
}

/** "N of M approvals", the deadline with the time left, and every decision. */
function approvalNodes(d) {
  const a = d.approval;
  const quorum = a.required === null
    ? `${a.approved_by.length} approvals (no policy verdict yet)`
    : `${a.approved_by.length} of ${a.required} approvals`;
  const deadline = a.deadline === null
    ? "no deadline known (no verdict, or the server has no active policy)"
    : a.seconds_left === null
    ? `${when(a.deadline)} (the gate is closed)`
    : a.seconds_left === 0
    ? `${when(a.deadline)} (passed)`
    : `${when(a.deadline)} (${duration(a.seconds_left * 1000)} left)`;
  const decisions = [...d.approvals].sort((x, y) => x.decided_at < y.decided_at ? -1 : 1);
  const list = el("ul", { id: "approvals" });
  for (const x of decisions) {
    list.append(el("li", {
      text: `${when(x.decided_at)} — ${x.actor} ${x.decision}: ${x.reason}`,
    }));
  }
  if (decisions.length === 0) list.append(el("li", { text: "no decision yet" }));
  const notes = [];
  if (a.separate_submitter) {
    notes.push(el("p", { class: "small", text: "The submitter may not approve it." }));
  }
  return [
    el("p", { id: "quorum", class: "quorum", text: quorum }),
    el("p", { id: "deadline", text: `Deadline: ${deadline}` }),
    ...notes,
    list,
  ];
}

function ledgerSection(d) {
  const ledger = el("ol", { id: "ledger" });
  for (const t of d.ledger) {
    ledger.append(el("li", {
      text: `${when(t.at)} — ${t.from_status ?? "∅"} → ${t.to_status} by ${t.actor}${
        t.reason ? `: ${t.reason}` : ""
      }`,
    }));
  }
  return section("Ledger", ledger);
}

function runsSection(d) {
  const runs = el("ul", { id: "runs" });
  for (const r of d.runs) {
    runs.append(el("li", {
      text: `attempt ${r.attempt} (${r.module}): ${r.status}${
        r.duration_ms == null ? "" : `, ${duration(r.duration_ms)}`
      }${r.budget_consumed == null ? "" : `, spent ${r.budget_consumed}`}`,
    }));
  }
  if (d.runs.length === 0) runs.append(el("li", { text: "no run yet" }));
  return section("Runs", runs);
}

function deliveriesSection(deliveries) {
  const list = el("ul", { id: "deliveries" });
  for (const d of deliveries) {
    const last = d.log.at(-1);
    const answer = last === undefined
      ? "not sent yet"
      : `last: ${last.status_code ?? "no answer"}${last.error ? ` (${last.error})` : ""}`;
    list.append(el("li", {
      text:
        `${d.event_type} → ${d.subscription}: ${d.status} after ${d.attempts} attempt(s); ${answer}`,
    }));
  }
  if (deliveries.length === 0) list.append(el("li", { text: "no webhook deliveries" }));
  return section("Notifications", list);
}

function workingMemorySection(memory) {
  const list = el("dl", { id: "working-memory" });
  for (const m of memory.entries) {
    list.append(
      el("dt", { text: m.key }),
      el(
        "dd",
        {},
        el("code", { text: JSON.stringify(m.value) }),
        el("span", {
          text: ` version ${m.version}, written by attempt ${m.attempt} at ${when(m.written_at)}`,
        }),
      ),
    );
  }
  const usage = el("p", {
    text: memory.entries.length === 0
      ? "the module wrote nothing"
      : `${memory.bytes} of ${memory.max_bytes} bytes, ${memory.writes} of ${memory.max_writes} writes`,
  });
  return section("Working memory", usage, list);
}

/** The directive page for `id`. */
export async function directiveView(id, config, rerender) {
  const d = await (await api(`/api/directives/${id}`)).json();
  const dir = d.directive;
  const head = el("dl", { class: "head" });
  const fact = (k, v) => head.append(el("dt", { text: k }), el("dd", {}, v));
  fact("Status", el("span", { class: "status", id: "directive-status", text: dir.status }));
  if (config.temporal_ui_url) {
    const url = `${config.temporal_ui_url}/namespaces/default/workflows/${
      encodeURIComponent(d.workflow_id)
    }`;
    fact(
      "Workflow",
      el("a", { href: url, target: "_blank", rel: "noopener", text: d.workflow_id }),
    );
  }
  fact("Trace", dir.trace_id ?? "not traced (no OTEL_EXPORTER_OTLP_ENDPOINT at submit)");
  const nodes = [el("h2", { text: dir.objective }), head];
  const approvals = section("Approvals", ...approvalNodes(d));
  const contract = [contractSection(d), payloadSection(d), moduleSection(d), verdictSection(d)];
  if (dir.status === "proposed") {
    // What is approved, read top to bottom, then the decision.
    nodes.push(approvals, ...contract, section("Decide", decisionForm(id, rerender)));
    nodes.push(timelineSection(d));
  } else {
    nodes.push(timelineSection(d), ...contract, approvals);
  }
  nodes.push(ledgerSection(d), runsSection(d));
  const artifacts = el("ul", { id: "artifacts" });
  for (const a of d.artifacts) artifacts.append(await artifactBlock(id, a));
  nodes.push(section("Artifacts", artifacts));
  const evals = el("ul");
  for (const e of d.evaluations) evals.append(el("li", { text: `${e.evaluator}: ${e.score}` }));
  nodes.push(section("Evaluations", evals), workingMemorySection(d.working_memory));
  const { items } = await (await api(`/api/directives/${id}/deliveries`)).json();
  nodes.push(deliveriesSection(items));
  return nodes;
}
