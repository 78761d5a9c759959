import type { AnchorStore } from "../artifacts/mod.ts";
import type { Sql } from "../db/mod.ts";
import { anchorLedger, LedgerAnchorError } from "../directives/mod.ts";
import type { Logger } from "../telemetry/log.ts";

/** What the anchoring activity needs. */
export interface AnchorDeps {
  /** The application's database client. */
  readonly sql: Sql;
  /** Where anchors go, outside Postgres; nothing is anchored when absent. */
  readonly anchors?: AnchorStore;
  /** The structured logger. */
  readonly log: Logger;
}

/** What one anchoring did. */
export interface AnchorReport {
  /** `anchored`: a new anchor; `unchanged`: the head was anchored already; `skipped`: no store or an empty ledger; `refused`: the ledger no longer matches the latest anchor. */
  readonly outcome: "anchored" | "unchanged" | "skipped" | "refused";
  /** The anchored head row, when there is one. */
  readonly lastId?: string;
  /** Why anchoring was refused. */
  readonly problem?: string;
}

/** Builds the ledger-anchoring activity the reconciler runs on a schedule. */
export function createAnchorActivities(deps: AnchorDeps) {
  return {
    /**
     * Writes the ledger's head as an immutable anchor in the artifact store,
     * unless the ledger no longer matches the latest anchor (then nothing is
     * written, the evidence stays, and the refusal is logged as an error).
     * Idempotent: the same head is anchored once under one name.
     */
    async anchorLedger(): Promise<AnchorReport> {
      if (!deps.anchors) return { outcome: "skipped" };
      try {
        const result = await anchorLedger(deps.sql, deps.anchors, { now: new Date() });
        if (!result.anchor) return { outcome: "skipped" };
        if (result.created) {
          deps.log.info("ledger anchored", {
            last_id: result.anchor.last_id,
            rows: result.anchor.rows,
            anchor: result.name,
          });
        }
        return {
          outcome: result.created ? "anchored" : "unchanged",
          lastId: result.anchor.last_id,
        };
      } catch (error) {
        if (!(error instanceof LedgerAnchorError)) throw error;
        deps.log.error("ledger anchoring refused: the ledger no longer matches its anchor", {
          problem: error.message,
        });
        return { outcome: "refused", problem: error.message };
      }
    },
  };
}

/** The anchoring activity, for `proxyActivities` in workflow code. */
export type AnchorActivities = ReturnType<typeof createAnchorActivities>;
