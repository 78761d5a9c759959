/**
 * Active directives (proposed, approved, executing: those the database says
 * still need a loop), read in bounded pages with a keyset cursor on
 * (created_at, id), so a caller can walk all of them however many there are,
 * and rows created meanwhile land after the cursor rather than shifting it.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";

/** Thrown when a page size or cursor is not one {@linkcode activeDirectivesPage} accepts. */
export class ActivePageError extends RangeError {
  /** Builds the error naming the bad `field` and its `value`. */
  constructor(field: string, value: unknown, options?: ErrorOptions) {
    super(
      `Cannot read a page of active directives: ${field} "${String(value)}" is invalid ` +
        `(limit: an integer 1..1000; after: { createdAt, id } from an earlier page)`,
      options,
    );
    this.name = "ActivePageError";
  }
}

/**
 * Where a page ended. `createdAt` is Postgres's own text of the timestamp,
 * to the microsecond, and goes back as text (a JavaScript Date, or a
 * parameter typed timestamptz, which the client serializes through one,
 * would drop the microseconds and skip or repeat rows).
 */
export interface ActiveCursor {
  /** created_at of the last row, as Postgres wrote it. */
  readonly createdAt: string;
  /** id of the last row. */
  readonly id: string;
}

/** One active directive, with its stored approval if it has one. */
export interface ActiveDirective {
  /** The directive. */
  readonly id: string;
  /** proposed, approved or executing. */
  readonly status: "proposed" | "approved" | "executing";
  /** Who approved it, when an approval is stored. */
  readonly approvedBy: string | null;
  /** The approval's reason, when one is stored. */
  readonly approvalReason: string | null;
}

/** A page of active directives and the cursor after its last row (null when it was the last). */
export interface ActivePage {
  /** Up to `limit` directives, oldest first. */
  readonly rows: readonly ActiveDirective[];
  /** Pass as `after` for the next page; null when no row follows. */
  readonly next: ActiveCursor | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads up to `limit` active directives after `after` (from the start when
 * absent), ordered by (created_at, id).
 */
export async function activeDirectivesPage(
  sql: Sql,
  options: { limit: number; after?: ActiveCursor | null },
): Promise<ActivePage> {
  const { limit } = options;
  const after = options.after ?? null;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new ActivePageError("limit", limit);
  }
  if (after !== null && (!UUID.test(after.id) || Number.isNaN(Date.parse(after.createdAt)))) {
    throw new ActivePageError("after", JSON.stringify(after));
  }
  const rows = await sql<
    {
      id: string;
      status: ActiveDirective["status"];
      created_at: string;
      approved_by: string | null;
      why: string | null;
    }[]
  >`
    SELECT d.id, d.status, d.created_at::text AS created_at,
           a.actor AS approved_by, a.reason AS why
      FROM directives d
      LEFT JOIN LATERAL (
        -- A quorum stores several approvals: the last one is enough to tell the loop.
        SELECT actor, reason FROM approvals
         WHERE directive_id = d.id AND decision = 'approved'
         ORDER BY decided_at DESC, id DESC LIMIT 1
      ) a ON true
     WHERE d.status IN ('proposed', 'approved', 'executing')
       AND (${after === null}::boolean
            OR (d.created_at, d.id) > (${after?.createdAt ?? null}::text::timestamptz,
                                       ${after?.id ?? null}::uuid))
     ORDER BY d.created_at, d.id
     LIMIT ${limit}`;
  const last = rows.at(-1);
  return {
    rows: rows.map((row) => ({
      id: row.id,
      status: row.status,
      approvedBy: row.approved_by,
      approvalReason: row.why,
    })),
    next: last && rows.length === limit ? { createdAt: last.created_at, id: last.id } : null,
  };
}
