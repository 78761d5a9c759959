/**
 * Ledger anchors: the ledger's head (last row id, its hash, the row count and
 * a digest of every row's id and hash up to it) written outside Postgres, in
 * the artifact store's immutable anchors. An owner who deletes the ledger's
 * tail, or rewrites rows and recomputes their hashes, cannot change an anchor
 * already written; the audit compares the ledger with the latest one.
 *
 * @module
 */
import { z } from "zod";
import type { AnchorStore } from "../artifacts/anchors.ts";
import type { Sql } from "../db/mod.ts";
import { sha256Hex } from "./ledger.ts";

/** An anchor as stored (JSON). */
export const LedgerAnchor = z.strictObject({
  /** The format. */
  version: z.literal(1),
  /** The id of the ledger's last row when anchored. */
  last_id: z.string().regex(/^[1-9][0-9]{0,18}$/),
  /** That row's hash. */
  last_hash: z.string().regex(/^[0-9a-f]{64}$/),
  /** How many rows had an id up to `last_id`. */
  rows: z.number().int().min(1),
  /** sha256 of `<id>:<hash>\n` for each of those rows, in id order. */
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  /** When it was written (ISO 8601). */
  at: z.iso.datetime(),
});
/** An anchor. */
export type LedgerAnchor = z.infer<typeof LedgerAnchor>;

/** A ledger row as the anchor sees it. */
export interface HeadRow {
  /** Its id (a bigint as text). */
  readonly id: string;
  /** Its hash. */
  readonly hash: string;
}

/** One problem an audit found, naming the directive or row concerned. */
export interface AuditFinding {
  /** What kind of problem. */
  readonly kind: "chain" | "status" | "creation" | "seq" | "anchor";
  /** The directive concerned, when there is one. */
  readonly directiveId?: string;
  /** The ledger row concerned, when there is one. */
  readonly rowId?: string;
  /** What is wrong, in words. */
  readonly problem: string;
}

/** Thrown when an anchor cannot be written, or the latest one cannot be read. */
export class LedgerAnchorError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LedgerAnchorError";
  }
}

/** The key an anchor of `lastId` is stored under: zero-padded, so names sort by id. */
export function anchorName(lastId: string): string {
  return `ledger-${lastId.padStart(20, "0")}.json`;
}

/** Rows sorted by numeric id. */
export function byId(rows: readonly HeadRow[]): HeadRow[] {
  return [...rows].sort((a, b) => {
    const x = BigInt(a.id), y = BigInt(b.id);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** The digest of rows already in id order. */
export async function ledgerDigest(rows: readonly HeadRow[]): Promise<string> {
  return await sha256Hex(rows.map((r) => `${r.id}:${r.hash}\n`).join(""));
}

/** The head of rows in id order, as an anchor written `at`; undefined for an empty ledger. */
export async function headOf(
  rows: readonly HeadRow[],
  at: Date,
): Promise<LedgerAnchor | undefined> {
  const last = rows.at(-1);
  if (!last) return undefined;
  return {
    version: 1,
    last_id: last.id,
    last_hash: last.hash,
    rows: rows.length,
    digest: await ledgerDigest(rows),
    at: at.toISOString(),
  };
}

/**
 * Compares the ledger (`rows`, in id order) with an anchor. Names a deleted
 * tail (the anchored row missing, or fewer rows up to it than anchored) and a
 * rewritten history (the anchored row's hash, or the digest, differs).
 */
export async function checkAnchor(
  anchor: LedgerAnchor,
  rows: readonly HeadRow[],
): Promise<AuditFinding[]> {
  const findings: AuditFinding[] = [];
  const lastId = BigInt(anchor.last_id);
  const upTo = rows.filter((r) => BigInt(r.id) <= lastId);
  const head = upTo.at(-1);
  const since = `relative to the anchor of ${anchor.at}`;
  if (head?.id !== anchor.last_id) {
    findings.push({
      kind: "anchor",
      rowId: anchor.last_id,
      problem:
        `the anchored head row ${anchor.last_id} is missing ${since}: the ledger's tail was deleted`,
    });
  } else if (head.hash !== anchor.last_hash) {
    findings.push({
      kind: "anchor",
      rowId: anchor.last_id,
      problem:
        `the anchored head row ${anchor.last_id} now hashes to ${head.hash}, anchored ${anchor.last_hash} ${since}: history was rewritten and re-chained`,
    });
  }
  if (upTo.length < anchor.rows) {
    findings.push({
      kind: "anchor",
      problem:
        `${upTo.length} ledger rows up to row ${anchor.last_id}, anchored ${anchor.rows} ${since}: ${
          anchor.rows - upTo.length
        } rows were deleted`,
    });
  }
  const digest = await ledgerDigest(upTo);
  if (digest !== anchor.digest) {
    findings.push({
      kind: "anchor",
      problem:
        `the rows up to row ${anchor.last_id} digest to ${digest}, anchored ${anchor.digest} ${since}: rows were deleted, added or rewritten`,
    });
  }
  return findings;
}

/** The latest anchor in `store` and its name; undefined when there is none. */
export async function latestAnchor(
  store: AnchorStore,
): Promise<{ name: string; anchor: LedgerAnchor } | undefined> {
  const name = (await store.list()).filter((n) => n.startsWith("ledger-")).at(-1);
  if (name === undefined) return undefined;
  const text = new TextDecoder().decode(await store.get(name));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new LedgerAnchorError(`Anchor "${name}" in ${store.where} is not JSON`, { cause });
  }
  const anchor = LedgerAnchor.safeParse(parsed);
  if (!anchor.success) {
    throw new LedgerAnchorError(
      `Anchor "${name}" in ${store.where} is malformed: ${
        anchor.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")
      }`,
      { cause: anchor.error },
    );
  }
  return { name, anchor: anchor.data };
}

/** Every ledger row's id and hash, in id order. */
export async function readHeadRows(sql: Sql): Promise<HeadRow[]> {
  return byId(
    await sql<HeadRow[]>`SELECT id::text AS id, hash FROM directive_transitions ORDER BY id`,
  );
}

/** What {@linkcode anchorLedger} did. */
export interface AnchorResult {
  /** The anchor of the head now; absent when the ledger is empty. */
  readonly anchor?: LedgerAnchor;
  /** Its name in the store. */
  readonly name?: string;
  /** False when the head was anchored already (nothing new was written). */
  readonly created: boolean;
}

/**
 * Writes the ledger's head as an anchor, after checking the ledger against
 * the latest anchor: a ledger whose tail was deleted or whose history was
 * rewritten since is never anchored, so the evidence stays.
 *
 * @throws {LedgerAnchorError} naming the findings when the check fails.
 */
export async function anchorLedger(
  sql: Sql,
  store: AnchorStore,
  options: { readonly now: Date },
): Promise<AnchorResult> {
  const rows = await sql.begin(
    "ISOLATION LEVEL REPEATABLE READ READ ONLY",
    (tx) => readHeadRows(tx as unknown as Sql),
  ) as HeadRow[];
  const previous = await latestAnchor(store);
  if (previous) {
    const findings = await checkAnchor(previous.anchor, rows);
    if (findings.length > 0) {
      throw new LedgerAnchorError(
        `Cannot anchor the ledger: it no longer matches anchor "${previous.name}": ${
          findings.map((f) => f.problem).join("; ")
        }`,
      );
    }
  }
  const anchor = await headOf(rows, options.now);
  if (!anchor) return { created: false };
  const name = anchorName(anchor.last_id);
  const { created } = await store.put(name, new TextEncoder().encode(JSON.stringify(anchor)));
  return { anchor, name, created };
}
