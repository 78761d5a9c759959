/**
 * Following a directive: prints each new ledger transition as it appears,
 * polling Postgres, until the directive reaches a terminal status. Shared by
 * `keel submit` (without `--detach`) and `keel watch`.
 *
 * @module
 */
import { isTerminal } from "../../directives/mod.ts";
import { lastRun, ledgerAfter, loadDirective } from "../../directives/queries.ts";
import { type Context, EXIT, printJson } from "./common.ts";
import { transitionJson, transitionLine } from "./format.ts";

/** How often the database is polled while following. */
export const POLL_MS = 500;

/** Loads a directive or throws `DirectiveNotFoundError` (the shared query). */
export { loadDirective };

/** Ledger rows of a directive after a row id (the shared query). */
export { ledgerAfter };

/** How a followed directive ended. */
export interface FollowResult {
  /** The directive. */
  readonly directive_id: string;
  /** Its terminal status. */
  readonly status: string;
  /** The reason on its last ledger row. */
  readonly reason: string;
  /** Its last run, if any. */
  readonly run: { attempt: number; status: string; outcome: string | null } | null;
}

/**
 * Prints every ledger transition of `id` (those already there, then each new
 * one) until the directive is terminal; returns the exit code: 0 when it
 * completed, 1 when it ended blocked or aborted.
 */
export async function follow(ctx: Context, id: string): Promise<number> {
  const sql = await ctx.db();
  let last = "0";
  let lastReason = "";
  while (true) {
    // Status first: a terminal status read here is committed together with
    // its ledger row, so the read below sees every row up to it.
    const directive = await loadDirective(sql, id);
    for (const entry of await ledgerAfter(sql, id, last)) {
      last = entry.id;
      lastReason = entry.reason;
      if (ctx.json) {
        printJson(ctx, { event: "transition", directive_id: id, ...transitionJson(entry) });
      } else ctx.io.out(transitionLine(entry));
    }
    if (isTerminal(directive.status)) {
      const run = await lastRun(sql, id);
      const result: FollowResult = {
        directive_id: id,
        status: directive.status,
        reason: lastReason,
        run: run ? { attempt: run.attempt, status: run.status, outcome: run.outcome } : null,
      };
      if (ctx.json) printJson(ctx, { event: "result", ...result });
      else {
        const runText = run
          ? ` (run ${run.attempt} ${run.status}${run.outcome ? ` ${run.outcome}` : ""})`
          : "";
        ctx.io.out(`directive ${id} ended ${directive.status}${runText}: ${lastReason}`);
      }
      return directive.status === "complete" ? EXIT.ok : EXIT.refused;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
