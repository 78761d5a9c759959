/**
 * How a sandboxed call's ending is recorded: the run's status, outcome and
 * message (each naming the real cause), its artifacts, and what is charged
 * against the reservation.
 *
 * @module
 */
import { compareDecimals, DECIMAL_PATTERN } from "../models/mod.ts";
import {
  type ArtifactStorage,
  ArtifactTooLargeError,
  prepareArtifact,
  type PreparedArtifact,
} from "../artifacts/mod.ts";
import type { ExecutionModule } from "./module.ts";
import type { SandboxEnding } from "./sandbox/host.ts";
import type { RunEnding } from "./runs.ts";

/** A run's ending and its charge. */
export interface Recording {
  readonly ending: RunEnding;
  /** What to charge; the reservation when the real spend is unknown. */
  readonly charge: string;
}

/**
 * Maps a sandbox ending to the run's recorded ending. Where the real spend is
 * unknown (killed, errored, lost) the reservation is charged: the module may
 * have spent up to it.
 */
export async function recordingOf(
  ending: Exclude<SandboxEnding, { kind: "declined" }>,
  facts: {
    module: ExecutionModule;
    estimate: string;
    currency: string;
    timeboxSeconds: number;
    artifacts: ArtifactStorage;
  },
): Promise<Recording> {
  const { module, estimate, currency } = facts;
  const durationMs = ending.durationMs;
  const over = (reported: string): Recording => ({
    ending: {
      status: "failed",
      outcome: "ERROR",
      message: `budget: module "${module.type}" reported spending ${reported} ${currency}, over ` +
        `its reservation of ${estimate} ${currency}; the run is failed`,
      durationMs,
    },
    charge: DECIMAL_PATTERN.test(reported) ? reported : estimate,
  });
  switch (ending.kind) {
    case "timebox":
      return {
        ending: {
          status: "canceled",
          message:
            `timebox of ${facts.timeboxSeconds}s exceeded: the module's process was killed ` +
            `after ${durationMs} ms`,
          durationMs,
        },
        charge: estimate,
      };
    case "aborted":
      return {
        ending: {
          status: "canceled",
          message: `canceled by abort: the module's process was killed after ${durationMs} ms`,
          durationMs,
        },
        charge: estimate,
      };
    case "unresponsive":
      return {
        ending: {
          status: "failed",
          outcome: "ERROR",
          message: `module "${module.type}" stopped answering liveness checks for ` +
            `${ending.silentMs} ms (its event loop was blocked); killed after ${durationMs} ms`,
          durationMs,
        },
        charge: estimate,
      };
    case "error":
      return {
        ending: {
          status: "failed",
          outcome: "ERROR",
          message: `${ending.name}: ${ending.message}`,
          durationMs,
        },
        charge: estimate,
      };
    case "overspent":
      return over(ending.reported);
    case "result":
      break;
  }
  const result = ending.result;
  if (compareDecimals(result.budgetConsumed, estimate) > 0) return over(result.budgetConsumed);
  let prepared: PreparedArtifact[];
  try {
    prepared = await Promise.all(
      result.artifacts.map((draft) => prepareArtifact(draft, facts.artifacts)),
    );
  } catch (error) {
    if (!(error instanceof ArtifactTooLargeError)) throw error;
    return {
      ending: {
        status: "failed",
        outcome: "ERROR",
        message: error.message,
        budgetConsumed: result.budgetConsumed,
        durationMs,
      },
      charge: result.budgetConsumed,
    };
  }
  return {
    ending: {
      status: result.status === "SUCCESS" ? "completed" : "failed",
      outcome: result.status,
      result: result.result,
      message: result.message,
      budgetConsumed: result.budgetConsumed,
      durationMs,
      artifacts: prepared,
    },
    charge: result.budgetConsumed,
  };
}
