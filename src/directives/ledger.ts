import type { TransitionRow } from "../models/mod.ts";

/** The `prev_hash` of a directive's first ledger row. */
export const GENESIS_HASH = "0".repeat(64);

const encoder = new TextEncoder();

function field(value: string | null): string {
  return value === null ? "~;" : `${encoder.encode(value).length}:${value};`;
}

/**
 * The hashed content of a ledger row, exactly as migration 0002's trigger
 * builds it: each field as `<UTF-8 byte length>:<value>;`, NULL as `~;`.
 */
export function ledgerContent(
  row: Pick<
    TransitionRow,
    "directive_id" | "from_status" | "to_status" | "actor" | "reason" | "at"
  >,
  prevHash: string,
): string {
  return [
    field(row.directive_id),
    field(row.from_status),
    field(row.to_status),
    field(row.actor),
    field(row.reason),
    field(row.at.toISOString()),
    field(prevHash),
  ].join("");
}

/** Hex sha256 of a UTF-8 string. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Where a chain breaks. */
export interface ChainBreak {
  /** The id of the first row that does not verify. */
  readonly rowId: string;
  /** Its directive. */
  readonly directiveId: string;
  /** What is wrong with it. */
  readonly problem: string;
}

/**
 * Verifies one directive's rows, in ledger order: each row links to the one
 * before it, and its hash matches its content. Returns the first break.
 */
export async function verifyChain(
  rows: readonly TransitionRow[],
): Promise<ChainBreak | undefined> {
  let expectedPrev = GENESIS_HASH;
  for (const row of rows) {
    if (row.prev_hash !== expectedPrev) {
      return {
        rowId: row.id,
        directiveId: row.directive_id,
        problem:
          `prev_hash ${row.prev_hash} does not link to the previous row's hash ${expectedPrev} (a row before it was removed or altered)`,
      };
    }
    const recomputed = await sha256Hex(ledgerContent(row, row.prev_hash));
    if (recomputed !== row.hash) {
      return {
        rowId: row.id,
        directiveId: row.directive_id,
        problem:
          `content does not match its hash: stored ${row.hash}, recomputed ${recomputed} (the row was altered)`,
      };
    }
    expectedPrev = row.hash;
  }
  return undefined;
}
