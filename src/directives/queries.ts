/**
 * The read queries every caller shares: one directive, one directive with
 * everything recorded about it, and a page of directives with keyset
 * (cursor) pagination, newest first. The server and the CLI both use these.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";
import { DirectiveRow } from "../models/mod.ts";
import { directiveWorkflowId } from "../workflows/directive/api.ts";
import { DirectiveNotFoundError } from "./mutator.ts";
import { readWorkingMemory, type WorkingMemorySnapshot } from "../working_memory/mod.ts";

/** The largest page {@linkcode listDirectives} returns. */
export const LIST_LIMIT_MAX = 200;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Thrown when a cursor was not made by {@linkcode listDirectives}. */
export class InvalidCursorError extends Error {
  /** Creates the error. */
  constructor(cursor: string, options?: ErrorOptions) {
    super(
      `cursor "${cursor.slice(0, 80)}" is not one this API returned as next_cursor`,
      options,
    );
    this.name = "InvalidCursorError";
  }
}

/** What a page of directives is filtered by. */
export interface ListOptions {
  /** Only this status. */
  readonly status?: string | undefined;
  /** Only this type. */
  readonly type?: string | undefined;
  /** Only directives this principal submitted. */
  readonly submittedBy?: string | undefined;
  /** Rows per page, 1 to {@linkcode LIST_LIMIT_MAX}. */
  readonly limit: number;
  /** Where the previous page ended (its `nextCursor`). */
  readonly cursor?: string | undefined;
}

/** A listed directive: its whole row. */
export type ListedDirective = Record<string, unknown> & {
  id: string;
  type: string;
  status: string;
  version: number;
  issued_by: string;
  objective: string;
  created_at: Date;
};

/** A page of directives. */
export interface DirectivePage {
  /** Newest first. */
  readonly items: ListedDirective[];
  /** The cursor of the next page, or null on the last one. */
  readonly nextCursor: string | null;
}

/** The opaque cursor after directive `id`. */
export function encodeCursor(id: string): string {
  return btoa(`d1:${id}`).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The directive id a cursor names; throws {@linkcode InvalidCursorError}. */
export function decodeCursor(cursor: string): string {
  let text = "";
  try {
    text = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch (cause) {
    throw new InvalidCursorError(cursor, { cause });
  }
  const id = text.startsWith("d1:") ? text.slice(3) : "";
  if (!UUID.test(id)) throw new InvalidCursorError(cursor);
  return id;
}

/**
 * A page of directives, newest first (`created_at DESC, id DESC`); the next
 * page starts strictly after the last row of this one, so walking the
 * cursors visits every row once even while new ones arrive.
 */
export async function listDirectives(sql: Sql, options: ListOptions): Promise<DirectivePage> {
  const limit = Math.min(Math.max(1, Math.trunc(options.limit)), LIST_LIMIT_MAX);
  const after = options.cursor === undefined ? null : decodeCursor(options.cursor);
  if (after !== null) {
    const [found] = await sql`SELECT 1 FROM directives WHERE id = ${after}`;
    if (!found) throw new InvalidCursorError(options.cursor ?? "");
  }
  const rows = await sql<ListedDirective[]>`
    SELECT * FROM directives
     WHERE (${options.status ?? null}::text IS NULL OR status::text = ${options.status ?? null})
       AND (${options.type ?? null}::text IS NULL OR type = ${options.type ?? null})
       AND (${options.submittedBy ?? null}::text IS NULL
            OR submitted_by = ${options.submittedBy ?? null})
       AND (${after}::uuid IS NULL
            OR (created_at, id) < (SELECT created_at, id FROM directives WHERE id = ${after}))
     ORDER BY created_at DESC, id DESC
     LIMIT ${limit + 1}`;
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.id) : null,
  };
}

/** Loads a directive or throws {@linkcode DirectiveNotFoundError}. */
export async function loadDirective(sql: Sql, id: string): Promise<DirectiveRow> {
  if (!UUID.test(id)) throw new DirectiveNotFoundError(id);
  const [row] = await sql`SELECT * FROM directives WHERE id = ${id}`;
  if (!row) throw new DirectiveNotFoundError(id);
  return DirectiveRow.parse(row);
}

/** A directive with everything recorded about it. */
export interface DirectiveDetail {
  /** The directive's row. */
  readonly directive: Record<string, unknown>;
  /** Its loop's workflow id. */
  readonly workflow_id: string;
  /** The transition ledger, oldest first. */
  readonly ledger: Record<string, unknown>[];
  /** Policy verdicts, oldest first. */
  readonly policy: Record<string, unknown>[];
  /** Approval decisions. */
  readonly approvals: Record<string, unknown>[];
  /** Execution runs by attempt. */
  readonly runs: Record<string, unknown>[];
  /** Artifact metadata (no bodies), oldest first. */
  readonly artifacts: Record<string, unknown>[];
  /** Evaluations, oldest first. */
  readonly evaluations: Record<string, unknown>[];
  /** The working memory its module left: live keys and the limits they use. */
  readonly working_memory: WorkingMemorySnapshot;
}

/**
 * A directive with its ledger, verdicts, approvals, runs, artifacts,
 * evaluations and working memory.
 */
export async function directiveDetail(sql: Sql, id: string): Promise<DirectiveDetail> {
  if (!UUID.test(id)) throw new DirectiveNotFoundError(id);
  const [directive] = await sql`SELECT * FROM directives WHERE id = ${id}`;
  if (!directive) throw new DirectiveNotFoundError(id);
  const ledger =
    await sql`SELECT * FROM directive_transitions WHERE directive_id = ${id} ORDER BY id`;
  const policy =
    await sql`SELECT * FROM policy_evaluations WHERE directive_id = ${id} ORDER BY evaluated_at`;
  const approvals = await sql`SELECT * FROM approvals WHERE directive_id = ${id}`;
  const runs = await sql`SELECT * FROM execution_runs WHERE directive_id = ${id} ORDER BY attempt`;
  const artifacts = await sql`
    SELECT id, run_id, kind, sha256, size_bytes, content_type, storage_uri, created_at, pruned_at
      FROM artifacts WHERE directive_id = ${id} ORDER BY created_at, id`;
  const evaluations =
    await sql`SELECT * FROM evaluations WHERE directive_id = ${id} ORDER BY created_at, id`;
  return {
    directive,
    workflow_id: directiveWorkflowId(id),
    ledger: [...ledger],
    policy: [...policy],
    approvals: [...approvals],
    runs: [...runs],
    artifacts: [...artifacts],
    evaluations: [...evaluations],
    working_memory: await readWorkingMemory(sql, id),
  };
}

/** A directive's status and its latest policy verdict, if any. */
export interface StatusAndVerdict {
  readonly status: string;
  readonly verdict: {
    readonly verdict: "ALLOW" | "BLOCK";
    readonly reason: string;
    readonly auto_approve: boolean;
    readonly approvals_required: number;
    readonly policy: string;
  } | null;
}

/** One query: the directive's status and its latest verdict (null before the policy ran). */
export async function statusAndVerdict(sql: Sql, id: string): Promise<StatusAndVerdict> {
  if (!UUID.test(id)) throw new DirectiveNotFoundError(id);
  const [row] = await sql`
    SELECT d.status, p.verdict, p.reason, p.auto_approve, p.approvals_required,
           p.policy_name || '@' || p.policy_version AS policy
      FROM directives d
      LEFT JOIN LATERAL (SELECT * FROM policy_evaluations e WHERE e.directive_id = d.id
                          ORDER BY e.evaluated_at DESC LIMIT 1) p ON true
     WHERE d.id = ${id}`;
  if (!row) throw new DirectiveNotFoundError(id);
  return {
    status: row.status,
    verdict: row.verdict === null ? null : {
      verdict: row.verdict,
      reason: row.reason,
      auto_approve: row.auto_approve,
      approvals_required: row.approvals_required,
      policy: row.policy,
    },
  };
}

/** What an artifact is, without its body. */
export interface ArtifactHead {
  readonly id: string;
  readonly kind: string;
  readonly sha256: string;
  readonly size_bytes: number;
  readonly content_type: string;
  readonly pruned_at: Date | null;
}

/** An artifact's row as the download route needs it, or undefined when the directive has none by that id. */
export async function artifactOf(
  sql: Sql,
  directiveId: string,
  artifactId: string,
): Promise<ArtifactHead | undefined> {
  if (!UUID.test(artifactId) || !UUID.test(directiveId)) return undefined;
  const [row] = await sql<ArtifactHead[]>`
    SELECT id, kind, sha256, size_bytes::float8 AS size_bytes, content_type, pruned_at
      FROM artifacts WHERE id = ${artifactId} AND directive_id = ${directiveId}`;
  return row;
}

/** One ledger row as followers print it. */
export interface LedgerEntry {
  /** The row id (bigint, as text). */
  readonly id: string;
  /** When. */
  readonly at: Date;
  /** From status; null for the creation row. */
  readonly from_status: string | null;
  /** To status. */
  readonly to_status: string;
  /** Who. */
  readonly actor: string;
  /** Why. */
  readonly reason: string;
  /** The row's hash. */
  readonly hash: string;
}

/** Ledger rows of a directive after row `afterId`, oldest first. */
export async function ledgerAfter(sql: Sql, id: string, afterId = "0"): Promise<LedgerEntry[]> {
  return [
    ...await sql<LedgerEntry[]>`
      SELECT id::text AS id, at, from_status, to_status, actor, reason, hash
        FROM directive_transitions
       WHERE directive_id = ${id} AND directive_transitions.id > ${afterId}::bigint
       ORDER BY directive_transitions.id -- the bigint column, not the text alias`,
  ];
}

/** A directive's last run, or undefined before any. */
export async function lastRun(
  sql: Sql,
  id: string,
): Promise<{ attempt: number; status: string; outcome: string | null } | undefined> {
  const [run] = await sql<{ attempt: number; status: string; outcome: string | null }[]>`
    SELECT attempt, status, outcome FROM execution_runs
     WHERE directive_id = ${id} ORDER BY attempt DESC LIMIT 1`;
  return run;
}

/** Whether the database answers (readiness). */
export async function databaseAnswers(sql: Sql): Promise<void> {
  await sql`SELECT 1`;
}
