// Charts drawn as SVG in the page (no library): a line chart over days and a
// horizontal bar chart. Each comes with its data as a table, for screen
// readers and for exact values.
import { el, svg } from "./dom.js";

/** Series colours, each with at least 4.5:1 contrast on white. */
export const PALETTE = [
  "#2563eb",
  "#b45309",
  "#15803d",
  "#7c3aed",
  "#b91c1c",
  "#0e7490",
  "#4b5563",
  "#9f1239",
];

const W = 640;
const H = 220;
const M = { left: 64, right: 12, top: 12, bottom: 28 };

function figure(id, title, chart, legend, table) {
  const caption = el("figcaption", { id: `${id}-caption`, text: title });
  const data = el("details", {}, el("summary", { text: "Data" }), table);
  return el("figure", { id, class: "chart" }, caption, chart, legend ?? "", data);
}

function dataTable(columns, rows) {
  const head = el("tr");
  for (const c of columns) head.append(el("th", { scope: "col", text: c }));
  const body = el("tbody");
  for (const r of rows) {
    const tr = el("tr");
    r.forEach((cell, i) =>
      tr.append(el(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : {}, String(cell)))
    );
    body.append(tr);
  }
  return el("table", { class: "data" }, el("thead", {}, head), body);
}

function legendOf(names) {
  const ul = el("ul", { class: "legend" });
  names.forEach((name, i) => {
    const swatch = svg(
      "svg",
      { width: 12, height: 12, "aria-hidden": "true" },
      svg("rect", {
        width: 12,
        height: 12,
        fill: PALETTE[i % PALETTE.length],
      }),
    );
    ul.append(el("li", {}, swatch, ` ${name}`));
  });
  return ul;
}

function frame(id, title, height) {
  return svg(
    "svg",
    {
      viewBox: `0 0 ${W} ${height}`,
      role: "img",
      "aria-labelledby": `${id}-svg-title`,
      class: "plot",
    },
    svg("title", { id: `${id}-svg-title`, text: title }),
  );
}

/**
 * A line per series over `days`. `format` writes a value for the axis and the
 * table; `integers` keeps the axis on whole numbers (counts).
 */
export function lineChart({ id, title, days, series, format = String, integers = false }) {
  const chart = frame(id, title, H);
  const values = series.flatMap((s) => s.values.filter((v) => v !== null));
  const max = Math.max(1e-9, ...values);
  const x = (i) =>
    M.left + (days.length === 1 ? 0.5 : i / (days.length - 1)) * (W - M.left - M.right);
  const y = (v) => H - M.bottom - (v / max) * (H - M.top - M.bottom);
  const grid = integers ? [...new Set([0, Math.round(max / 2), max])] : [0, max / 2, max];
  for (const v of grid) {
    chart.append(
      svg("line", { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", {
        x: M.left - 6,
        y: y(v) + 4,
        class: "axis",
        "text-anchor": "end",
        text: format(v),
      }),
    );
  }
  const last = days.length - 1;
  for (const i of [...new Set([0, Math.floor(last / 2), last])]) {
    const anchor = i === 0 && last > 0 ? "start" : i === last && last > 0 ? "end" : "middle";
    chart.append(
      svg("text", { x: x(i), y: H - 8, class: "axis", "text-anchor": anchor, text: days[i] }),
    );
  }
  series.forEach((s, n) => {
    const color = PALETTE[n % PALETTE.length];
    const points = s.values.map((v, i) => (v === null ? null : `${x(i)},${y(v)}`)).filter(Boolean);
    chart.append(
      svg("polyline", {
        points: points.join(" "),
        fill: "none",
        stroke: color,
        "stroke-width": 2,
        "data-series": s.name,
      }),
    );
    s.values.forEach((v, i) => {
      if (v !== null && v > 0) {
        chart.append(svg("circle", { cx: x(i), cy: y(v), r: 3, fill: color }));
      }
    });
  });
  if (values.length === 0) {
    chart.append(
      svg("text", {
        x: W / 2,
        y: H / 2,
        class: "axis",
        "text-anchor": "middle",
        text: "no data in this window",
      }),
    );
  }
  const table = dataTable(
    ["Day", ...series.map((s) => s.name)],
    days.map((
      day,
      i,
    ) => [day, ...series.map((s) => (s.values[i] === null ? "–" : format(s.values[i])))]),
  );
  return figure(id, title, chart, legendOf(series.map((s) => s.name)), table);
}

/**
 * Horizontal bars: one group per row, one bar per named value. `format`
 * writes a value.
 */
export function barChart({ id, title, rows, names, format = String }) {
  const group = 8 + names.length * 14;
  const height = Math.max(40, rows.length * group + M.top + 8);
  const chart = frame(id, title, height);
  const max = Math.max(1e-9, ...rows.flatMap((r) => r.values));
  const left = 230;
  const width = W - left - 90;
  rows.forEach((r, i) => {
    const top = M.top + i * group;
    const short = r.label.length > 34 ? `${r.label.slice(0, 33)}…` : r.label;
    chart.append(
      svg(
        "text",
        { x: left - 6, y: top + 12, class: "axis", "text-anchor": "end", text: short },
        svg("title", { text: r.label }),
      ),
    );
    r.values.forEach((v, j) => {
      const w = Math.max(1, (v / max) * width);
      chart.append(
        svg("rect", {
          x: left,
          y: top + j * 14,
          width: w,
          height: 11,
          fill: PALETTE[j % PALETTE.length],
          "data-value": v,
        }),
        svg("text", { x: left + w + 4, y: top + j * 14 + 10, class: "axis", text: format(v) }),
      );
    });
  });
  if (rows.length === 0) {
    chart.append(
      svg("text", {
        x: W / 2,
        y: 26,
        class: "axis",
        "text-anchor": "middle",
        text: "no data in this window",
      }),
    );
  }
  const table = dataTable(["", ...names], rows.map((r) => [r.label, ...r.values.map(format)]));
  return figure(id, title, chart, names.length > 1 ? legendOf(names) : null, table);
}
