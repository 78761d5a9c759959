/**
 * The budget ledger's audit. Budget rows are append-only (migration 0012)
 * and each is also recorded in `budget_ledger_events` by the database. The
 * audit names, per idempotency key: a row whose state differs from its last
 * trail event (rewritten behind the triggers' back) or that has no trail (a
 * row forged with the triggers off); a gap in the key's versions (rows
 * deleted); and a move between consecutive versions that the append guard
 * would have refused (a forged row after a charge, a frozen field changed).
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";

/** A budget row that does not match its trail, or a key whose rows do not follow each other. */
export interface BudgetTrailFinding {
  /** `trail`: the row differs from its trail; `version`: rows are missing; `move`: an illegal move. */
  readonly kind: "trail" | "version" | "move";
  /** The directive charged. */
  readonly directiveId: string;
  /** The activity idempotency key of the row. */
  readonly idempotencyKey: string;
  /** The row's version within its key. */
  readonly version: number;
  /** What is wrong. */
  readonly problem: string;
}

interface AuditedRow {
  readonly directive_id: string;
  readonly key: string;
  readonly version: number;
  readonly provider: string;
  readonly model: string;
  readonly status: string;
  readonly currency: string;
  readonly attempts: number;
  readonly now: string;
  readonly trail: string | null;
}

/** Why `row` may not follow `prev` within one key, or `undefined` when it may. */
function illegalMove(prev: AuditedRow, row: AuditedRow): string | undefined {
  if (
    row.directive_id !== prev.directive_id || row.provider !== prev.provider ||
    row.currency !== prev.currency
  ) {
    return "its directive, provider or currency differs from the version before";
  }
  if (prev.status === "charged") return `it follows a charge, which is final`;
  if (prev.status === "released" && row.status !== "reserved") {
    return `it is ${row.status} after a release; only a new reservation may follow one`;
  }
  if (row.status === "reserved" && row.attempts !== prev.attempts + 1) {
    return `a new reservation must count its attempt (${prev.attempts} -> ${row.attempts})`;
  }
  if (row.status !== "reserved" && (row.attempts !== prev.attempts || row.model !== prev.model)) {
    return "a settlement must keep its reservation's attempt and model";
  }
  return undefined;
}

/** The findings for one key's rows, in version order. */
function auditKey(rows: readonly AuditedRow[]): BudgetTrailFinding[] {
  const findings: BudgetTrailFinding[] = [];
  let prev: AuditedRow | undefined;
  for (const row of rows) {
    const at = {
      directiveId: row.directive_id,
      idempotencyKey: row.key,
      version: row.version,
    };
    const name = `budget row "${row.key}" version ${row.version} of directive ${row.directive_id}`;
    const expected = (prev?.version ?? 0) + 1;
    if (row.version !== expected) {
      findings.push({
        kind: "version",
        ...at,
        problem: `budget key "${row.key}" of directive ${row.directive_id} jumps from version ${
          expected - 1
        } to ${row.version}: rows are missing`,
      });
    }
    const wrong = prev && row.version === prev.version + 1 ? illegalMove(prev, row) : undefined;
    if (wrong) findings.push({ kind: "move", ...at, problem: `${name} is illegal: ${wrong}` });
    if (row.trail === null) {
      findings.push({
        kind: "trail",
        ...at,
        problem: `${name} has no trail in budget_ledger_events`,
      });
    } else if (row.now !== row.trail) {
      findings.push({
        kind: "trail",
        ...at,
        problem:
          `${name} is "${row.now}" but its trail last recorded "${row.trail}": it was rewritten`,
      });
    }
    prev = row;
  }
  return findings;
}

/**
 * Checks every budget row against its latest trail event (status, amount,
 * currency and attempts) and every key's versions and moves. Reads in a
 * REPEATABLE READ, READ ONLY transaction.
 */
export async function auditBudgetTrail(sql: Sql): Promise<BudgetTrailFinding[]> {
  const rows = await sql.begin(
    "ISOLATION LEVEL REPEATABLE READ READ ONLY",
    (tx) =>
      tx<AuditedRow[]>`
      SELECT b.directive_id, b.idempotency_key AS key, b.version, b.provider, b.model,
             b.status, b.currency, b.attempts,
             concat_ws(' ', b.status, b.amount::text, b.currency, b.attempts::text) AS now,
             (SELECT concat_ws(' ', e.status, e.amount::text, e.currency, e.attempts::text)
                FROM budget_ledger_events e
               WHERE e.budget_ledger_id = b.id ORDER BY e.id DESC LIMIT 1) AS trail
        FROM budget_ledger b
       ORDER BY b.idempotency_key, b.version`,
  ) as AuditedRow[];
  const findings: BudgetTrailFinding[] = [];
  let start = 0;
  for (let i = 1; i <= rows.length; i++) {
    if (i === rows.length || rows[i]!.key !== rows[start]!.key) {
      findings.push(...auditKey(rows.slice(start, i)));
      start = i;
    }
  }
  return findings;
}
