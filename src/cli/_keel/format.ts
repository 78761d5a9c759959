/**
 * Text formatting for the `keel` CLI: times, tables and ledger lines.
 *
 * @module
 */

/** A ledger row as the CLI reads it. */
export type { LedgerEntry } from "../../directives/queries.ts";
import type { LedgerEntry } from "../../directives/queries.ts";

/** An ISO 8601 UTC time, to the millisecond. */
export function time(value: Date | null | undefined): string {
  return value ? value.toISOString() : "-";
}

/** `from → to`, with `∅` for the creation row. */
export function arrow(entry: Pick<LedgerEntry, "from_status" | "to_status">): string {
  return `${entry.from_status ?? "∅"} → ${entry.to_status}`;
}

/** One line of `watch` / `submit` output. */
export function transitionLine(entry: LedgerEntry): string {
  return `${time(entry.at)}  ${arrow(entry).padEnd(22)}  ${entry.actor}: ${entry.reason}`;
}

/** A ledger row as JSON. */
export function transitionJson(entry: LedgerEntry): Record<string, unknown> {
  return {
    id: entry.id,
    at: time(entry.at),
    from: entry.from_status,
    to: entry.to_status,
    actor: entry.actor,
    reason: entry.reason,
    hash: entry.hash,
  };
}

/** Shortens `text` to `max` characters, marking the cut. */
export function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, " ");
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/** Lays out rows under a header, columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length))
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)).join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** A byte count for people. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/** A duration in seconds for people. */
export function seconds(n: number): string {
  if (n % 3600 === 0) return `${n / 3600}h (${n}s)`;
  if (n % 60 === 0) return `${n / 60}m (${n}s)`;
  return `${n}s`;
}
