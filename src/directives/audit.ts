import type { Sql } from "../db/mod.ts";
import { TransitionRow } from "../models/mod.ts";
import { type ChainBreak, verifyChain } from "./ledger.ts";

/** The outcome of an audit. */
export interface AuditReport {
  /** Ledger rows checked. */
  readonly rows: number;
  /** Directives whose chains were checked. */
  readonly directives: number;
  /** The first broken link, in directive then ledger order; absent when intact. */
  readonly broken?: ChainBreak;
}

/** Options for {@linkcode auditLedger}. */
export interface AuditOptions {
  /** Audit only this directive. */
  readonly directiveId?: string;
}

/**
 * Recomputes every ledger chain from the rows' content and reports the first
 * broken link. Reads in a REPEATABLE READ, READ ONLY transaction so the view
 * is consistent and the audit cannot write.
 */
export async function auditLedger(sql: Sql, options: AuditOptions = {}): Promise<AuditReport> {
  return await sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
    const rows = options.directiveId === undefined
      ? await tx`
          SELECT id, directive_id, from_status, to_status, actor, reason, at, prev_hash, hash
            FROM directive_transitions ORDER BY directive_id, id`
      : await tx`
          SELECT id, directive_id, from_status, to_status, actor, reason, at, prev_hash, hash
            FROM directive_transitions WHERE directive_id = ${options.directiveId}
           ORDER BY id`;
    const byDirective = new Map<string, TransitionRow[]>();
    for (const raw of rows) {
      const row = TransitionRow.parse(raw);
      const list = byDirective.get(row.directive_id) ?? [];
      list.push(row);
      byDirective.set(row.directive_id, list);
    }
    for (const chain of byDirective.values()) {
      const broken = await verifyChain(chain);
      if (broken) return { rows: rows.length, directives: byDirective.size, broken };
    }
    return { rows: rows.length, directives: byDirective.size };
  }) as AuditReport;
}
