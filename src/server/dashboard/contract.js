// The parts of the directive page an approver reads before deciding: the
// frozen contract, the payload, the module and its permissions, the policy's
// rules, and the phases on a timeline.
import { download, duration, el, section, svg, when } from "./dom.js";

/** Bytes of the payload shown in the page; the download has all of it. */
export const PAYLOAD_SHOWN_BYTES = 4096;

function list(items, empty) {
  if (!items || items.length === 0) return el("span", { class: "none", text: empty });
  const ul = el("ul", { class: "plain" });
  for (const item of items) ul.append(el("li", { text: item }));
  return ul;
}

function facts(pairs, attrs = {}) {
  const dl = el("dl", attrs);
  for (const [key, value, id] of pairs) {
    dl.append(el("dt", { text: key }), el("dd", id ? { id } : {}, value));
  }
  return dl;
}

/** The frozen contract: who, what, within which limits. */
export function contractSection(d) {
  const dir = d.directive;
  const b = d.budget;
  return section(
    "Contract",
    facts([
      ["Objective", dir.objective],
      ["Type", dir.type],
      ["Issued by", dir.issued_by],
      ["Submitted by", el("span", { id: "submitted-by", text: dir.submitted_by }), null],
      ["Scope", list(dir.scope, "none")],
      ["Constraints", list(dir.constraints, "none")],
      ["Success metrics", list(dir.success_metrics, "none")],
      [
        "Budget",
        `${b.amount} ${b.currency} (reserved ${b.reserved}, spent ${b.spent})`,
        "budget",
      ],
      ["Timebox", `${dir.timebox_seconds} s (${duration(dir.timebox_seconds * 1000)})`, "timebox"],
      ["Idempotency key", dir.idempotency_key],
      ["Id", dir.id],
      ["Created", when(dir.created_at)],
    ], { id: "contract" }),
  );
}

/** The payload, formatted, cut at {@linkcode PAYLOAD_SHOWN_BYTES}, with a download. */
export function payloadSection(d) {
  const text = JSON.stringify(d.directive.payload ?? {}, null, 2);
  const bytes = new TextEncoder().encode(text);
  const cut = bytes.length > PAYLOAD_SHOWN_BYTES;
  const shown = cut
    ? new TextDecoder().decode(bytes.slice(0, PAYLOAD_SHOWN_BYTES)).replace(/\uFFFD$/, "")
    : text;
  const button = el("button", { type: "button", text: "Download the full payload" });
  button.addEventListener(
    "click",
    () => download(`/api/directives/${d.directive.id}/payload`, `payload-${d.directive.id}.json`),
  );
  return section(
    "Payload",
    el("p", {
      id: "payload-size",
      text: cut
        ? `${d.payload_bytes} bytes; showing the first ${PAYLOAD_SHOWN_BYTES} bytes formatted.`
        : `${d.payload_bytes} bytes.`,
    }),
    el("pre", {
      id: "payload",
      tabindex: "0",
      "aria-label": "payload",
      text: cut ? `${shown}\n…` : shown,
    }),
    button,
  );
}

function permissionsText(p) {
  if (!p) return "none recorded (no ALLOW verdict)";
  const parts = ["net", "read", "write", "env"]
    .filter((kind) => (p[kind]?.length ?? 0) > 0)
    .map((kind) => `${kind}: ${p[kind].join(", ")}`);
  return parts.length > 0 ? parts.join("; ") : "nothing (no net, files, env or processes)";
}

/** The module the type selects and what its runs may touch. */
export function moduleSection(d) {
  const m = d.module;
  if (!m) {
    return section(
      "Module",
      el("p", { text: `No execution module serves "${d.directive.type}".` }),
    );
  }
  return section(
    "Module and permissions",
    facts([
      ["Module", m.type, "module-type"],
      ["What it does", m.description ?? "–"],
      ["Declares", permissionsText(m.declared), "declared"],
      ["Granted by the verdict", permissionsText(m.granted), "granted"],
      ["Contacts", m.targets.length ? m.targets.join(", ") : "no host"],
      ["Retry-safe", m.retry_safe === null ? "–" : m.retry_safe ? "yes" : "no"],
      ["Worst case per run", m.worst_case === null ? "–" : `${m.worst_case} ${d.budget.currency}`],
    ]),
  );
}

/** The verdict and each rule's result. */
export function verdictSection(d) {
  const v = d.verdict;
  if (!v) return section("Policy verdict", el("p", { text: "No verdict yet." }));
  const summary = el("p", { id: "verdict" });
  summary.append(
    el("strong", { class: `verdict-${v.verdict.toLowerCase()}`, text: v.verdict }),
    ` (rule ${v.rule}): ${v.reason}`,
  );
  const table = el("table", { id: "rules" }, el("caption", { text: v.rules_note }));
  const head = el("tr");
  for (const name of ["Rule", "Result", "Detail"]) {
    head.append(el("th", { scope: "col", text: name }));
  }
  const body = el("tbody");
  for (const r of v.rules ?? []) {
    body.append(el(
      "tr",
      { "data-rule": r.rule },
      el("th", { scope: "row", text: r.rule }),
      el("td", { class: `result-${r.result}`, text: r.result }),
      el("td", { text: r.detail }),
    ));
  }
  table.append(el("thead", {}, head), body);
  const policy = el("p", {
    class: "small",
    text:
      `Policy ${v.policy_name} ${v.policy_version}, sha256 ${v.policy_sha256 ?? "not recorded"}, ` +
      `decided ${when(v.evaluated_at)}.`,
  });
  return section(
    "Policy verdict",
    summary,
    v.rules ? table : el("p", { text: v.rules_note }),
    policy,
  );
}

const COLORS = {
  draft: "#6b7280",
  proposed: "#b45309",
  approved: "#2563eb",
  executing: "#7c3aed",
  complete: "#15803d",
  blocked: "#b91c1c",
  aborted: "#9f1239",
};

/** The phases on a time axis, with their durations. */
export function timelineSection(d) {
  const phases = d.timeline;
  const start = new Date(phases[0]?.entered_at ?? Date.now()).getTime();
  const ends = phases.map((p) => new Date(p.entered_at).getTime() + (p.duration_ms ?? 0));
  const total = Math.max(1, Math.max(...ends, start) - start);
  const width = 640;
  const label = 110;
  const rowH = 22;
  const chart = svg("svg", {
    viewBox: `0 0 ${width + label + 120} ${phases.length * rowH + 8}`,
    role: "img",
    "aria-labelledby": "timeline-svg-title",
    class: "timeline",
  }, svg("title", { id: "timeline-svg-title", text: "Phases of the directive over time" }));
  phases.forEach((p, i) => {
    const x = label + ((new Date(p.entered_at).getTime() - start) / total) * width;
    const w = p.duration_ms === null ? 3 : Math.max(3, (p.duration_ms / total) * width);
    const y = i * rowH + 4;
    chart.append(
      svg("text", { x: 0, y: y + 14, class: "axis", text: p.status }),
      svg("rect", { x, y, width: w, height: rowH - 6, fill: COLORS[p.status] ?? "#374151" }),
      svg("text", {
        x: x + w + 6,
        y: y + 14,
        class: "axis",
        text: p.duration_ms === null
          ? "end"
          : duration(p.duration_ms) + (p.ongoing ? " so far" : ""),
      }),
    );
  });
  const ol = el("ol", { id: "timeline" });
  for (const p of phases) {
    ol.append(el("li", {
      "data-status": p.status,
      text: `${p.status}: ${when(p.entered_at)}, ${
        p.duration_ms === null ? "final" : `${duration(p.duration_ms)}${p.ongoing ? " so far" : ""}`
      } — by ${p.actor}${p.reason ? ` (${p.reason})` : ""}`,
    }));
  }
  return section("Timeline", chart, ol);
}
