// The overview: the system at a glance, over the last N days.
import { duration, el, getJson, when } from "./dom.js";
import { barChart, lineChart } from "./charts.js";

const CHOICES = [7, 14, 30, 90];

function daysForm(days) {
  const form = el("form", { id: "window", "aria-label": "Window" });
  const select = el("select", { id: "days", name: "days" });
  for (const n of CHOICES) {
    const option = el("option", { value: String(n), text: `last ${n} days` });
    if (n === days) option.selected = true;
    select.append(option);
  }
  select.addEventListener("change", () => (location.hash = `#/overview?days=${select.value}`));
  form.append(el("label", { for: "days", text: "Window" }), select);
  form.addEventListener("submit", (event) => event.preventDefault());
  return form;
}

function tile(label, value, id) {
  return el(
    "div",
    { class: "tile", id },
    el("span", { class: "tile-value", text: value }),
    el("span", { text: label }),
  );
}

/** The overview page. */
export async function overviewView(params) {
  const asked = Number(params.get("days") ?? "14");
  const days = CHOICES.includes(asked) ? asked : 14;
  const q = `days=${days}`;
  const [status, waits, runs, spend, blocks] = await Promise.all([
    getJson(`/api/stats/status-per-day?${q}`),
    getJson(`/api/stats/approval-waits?${q}`),
    getJson(`/api/stats/run-durations?${q}`),
    getJson(`/api/stats/spend?${q}`),
    getJson(`/api/stats/block-reasons?${q}&limit=10`),
  ]);
  const total = (name) =>
    status.series.find((s) => s.status === name)?.counts.reduce((a, b) => a + b, 0) ?? 0;
  const tiles = el(
    "div",
    { class: "tiles", id: "tiles" },
    tile("waiting for a decision now", String(waits.waiting_now.n), "tile-waiting"),
    tile(`submitted in ${days} days`, String(total("proposed")), "tile-submitted"),
    tile("completed", String(total("complete")), "tile-complete"),
    tile("blocked", String(total("blocked")), "tile-blocked"),
    tile(
      "approval wait p50 / p95",
      waits.overall.n === 0
        ? "–"
        : `${duration(waits.overall.p50_ms)} / ${duration(waits.overall.p95_ms)}`,
      "tile-wait",
    ),
  );
  const oldest = waits.waiting_now.oldest_since
    ? el("p", {
      class: "small",
      text: `The oldest waiting directive was created ${when(waits.waiting_now.oldest_since)}.`,
    })
    : "";
  return [
    el("h2", { text: "Overview" }),
    daysForm(days),
    tiles,
    oldest,
    lineChart({
      id: "chart-status",
      title:
        "Directives entering each status, per day (UTC; draft omitted: every directive starts there)",
      days: status.days,
      series: status.series.filter((s) => s.status !== "draft").map((s) => ({
        name: s.status,
        values: s.counts,
      })),
      integers: true,
    }),
    lineChart({
      id: "chart-waits",
      title: `Approval waiting time per day, p50 and p95 (${waits.overall.n} decisions by people)`,
      days: waits.days,
      series: [
        { name: "p50", values: waits.per_day.map((p) => p.p50_ms) },
        { name: "p95", values: waits.per_day.map((p) => p.p95_ms) },
      ],
      format: (v) => duration(v),
    }),
    barChart({
      id: "chart-runs",
      title: "Run durations per module, p50 and p95",
      rows: runs.modules.map((m) => ({
        label: `${m.module} (${m.n} runs)`,
        values: [m.p50_ms, m.p95_ms],
      })),
      names: ["p50", "p95"],
      format: (v) => duration(v),
    }),
    lineChart({
      id: "chart-spend",
      title: "Spend per type per day (charged; currencies never converted)",
      days: spend.days,
      series: spend.series.map((s) => ({
        name: `${s.type} (${s.currency}, total ${s.total})`,
        values: s.amounts.map(Number),
      })),
      format: (v) => v.toFixed(2),
    }),
    barChart({
      id: "chart-blocks",
      title: "Most frequent BLOCK reasons",
      rows: blocks.reasons.map((r) => ({ label: `${r.rule}: ${r.reason}`, values: [r.count] })),
      names: ["verdicts"],
      format: (v) => String(Math.round(v)),
    }),
  ];
}
