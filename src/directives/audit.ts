import type { Sql, TransactionSql } from "../db/mod.ts";
import { TransitionRow } from "../models/mod.ts";
import { type AuditFinding, byId, checkAnchor, type LedgerAnchor } from "./anchor.ts";
import { type ChainBreak, verifyChain } from "./ledger.ts";

/** The outcome of an audit. */
export interface AuditReport {
  /** Ledger rows checked. */
  readonly rows: number;
  /** Directives whose chains were checked. */
  readonly directives: number;
  /** The first broken link, in directive then ledger order; absent when intact. */
  readonly broken?: ChainBreak;
  /** Every problem found (broken chains included), each naming its directive or row. */
  readonly findings: readonly AuditFinding[];
  /** The anchor the ledger was compared with, when one was given. */
  readonly anchor?: LedgerAnchor;
}

/** Options for {@linkcode auditLedger}. */
export interface AuditOptions {
  /** Audit only this directive (no anchor comparison then). */
  readonly directiveId?: string;
  /** The latest anchor written outside Postgres, to compare the whole ledger with. */
  readonly anchor?: LedgerAnchor;
}

/**
 * The per-directive checks: the first row is the creation row (no `from`,
 * seq 1), seq numbers run without a gap, and the directive's status is the
 * last row's `to_status`.
 */
function checkDirective(
  directiveId: string,
  status: string | undefined,
  chain: readonly TransitionRow[],
): AuditFinding[] {
  const findings: AuditFinding[] = [];
  const first = chain[0];
  if (!first) {
    return [{
      kind: "creation",
      directiveId,
      problem: `directive ${directiveId} has no ledger rows: its creation row is missing`,
    }];
  }
  if (status === undefined) {
    findings.push({
      kind: "status",
      directiveId,
      problem: `ledger rows name directive ${directiveId}, which does not exist`,
    });
  }
  if (first.from_status !== null || first.seq !== 1) {
    findings.push({
      kind: "creation",
      directiveId,
      rowId: first.id,
      problem:
        `directive ${directiveId}'s creation row is missing: its first ledger row ${first.id} is seq ${first.seq} from "${first.from_status}"`,
    });
  }
  let expected = first.seq;
  for (const row of chain) {
    if (row.seq !== expected) {
      findings.push({
        kind: "seq",
        directiveId,
        rowId: row.id,
        problem: `directive ${directiveId}'s ledger seq jumps from ${
          expected - 1
        } to ${row.seq} at row ${row.id}: rows are missing`,
      });
    }
    expected = row.seq + 1;
  }
  const last = chain.at(-1)!;
  if (status !== undefined && status !== last.to_status) {
    findings.push({
      kind: "status",
      directiveId,
      rowId: last.id,
      problem:
        `directive ${directiveId} is "${status}" but its last ledger row ${last.id} says "${last.to_status}"`,
    });
  }
  return findings;
}

async function readRows(tx: TransactionSql, directiveId: string | undefined) {
  const rows = directiveId === undefined
    ? await tx`
        SELECT id, directive_id, from_status, to_status, actor, reason, at, prev_hash, hash, seq
          FROM directive_transitions ORDER BY directive_id, id`
    : await tx`
        SELECT id, directive_id, from_status, to_status, actor, reason, at, prev_hash, hash, seq
          FROM directive_transitions WHERE directive_id = ${directiveId} ORDER BY id`;
  const directives = directiveId === undefined
    ? await tx<{ id: string; status: string }[]>`SELECT id, status FROM directives ORDER BY id`
    : await tx<{ id: string; status: string }[]>`
        SELECT id, status FROM directives WHERE id = ${directiveId}`;
  return { rows: rows.map((raw) => TransitionRow.parse(raw)), directives };
}

/**
 * Recomputes every ledger chain from the rows' content; checks each
 * directive's creation row, seq numbers and status against its last row; and,
 * given the latest anchor, names a deleted tail or a rewritten history since
 * it. Reads in a REPEATABLE READ, READ ONLY transaction so the view is
 * consistent and the audit cannot write.
 */
export async function auditLedger(sql: Sql, options: AuditOptions = {}): Promise<AuditReport> {
  return await sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
    const { rows, directives } = await readRows(tx, options.directiveId);
    const byDirective = new Map<string, TransitionRow[]>();
    for (const row of rows) {
      const list = byDirective.get(row.directive_id) ?? [];
      list.push(row);
      byDirective.set(row.directive_id, list);
    }
    const findings: AuditFinding[] = [];
    let broken: ChainBreak | undefined;
    for (const chain of byDirective.values()) {
      const found = await verifyChain(chain);
      if (!found) continue;
      broken ??= found;
      findings.push({
        kind: "chain",
        directiveId: found.directiveId,
        rowId: found.rowId,
        problem:
          `broken link at directive_transitions row ${found.rowId} (directive ${found.directiveId}): ${found.problem}`,
      });
    }
    const statusOf = new Map(directives.map((d) => [d.id, d.status]));
    const ids = new Set([...statusOf.keys(), ...byDirective.keys()]);
    for (const id of ids) {
      findings.push(...checkDirective(id, statusOf.get(id), byDirective.get(id) ?? []));
    }
    if (options.anchor && options.directiveId === undefined) {
      findings.push(...await checkAnchor(options.anchor, byId(rows)));
    }
    return {
      rows: rows.length,
      directives: byDirective.size,
      ...(broken ? { broken } : {}),
      findings,
      ...(options.anchor ? { anchor: options.anchor } : {}),
    };
  }) as AuditReport;
}
