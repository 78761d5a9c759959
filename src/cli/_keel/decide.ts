/**
 * `keel approve`, `keel reject` and `keel abort`: Updates to the directive's
 * loop, or, when no loop runs for it, the same decision recorded directly in
 * Postgres (the reconciler adopts the directive later).
 *
 * @module
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from "@temporalio/client";
import { decideApproval, finishDirective, isTerminal } from "../../directives/mod.ts";
import {
  abortUpdate,
  approveUpdate,
  directiveWorkflowId,
  rejectUpdate,
  statusQuery,
} from "../../workflows/directive/api.ts";
import {
  CliError,
  type Context,
  directiveIdArg,
  errorChain,
  EXIT,
  parseCommand,
  printJson,
  requiredText,
  type TemporalHandle,
  usage,
  type Values,
} from "./common.ts";
import { loadDirective } from "./follow.ts";
import { DecisionReason } from "../../models/decision_text.ts";
import { PrincipalName } from "../../auth/principal.ts";

/** How long an Update may take before the CLI gives up (no worker answering). */
const UPDATE_DEADLINE_MS = 60_000;
/** How long to wait for a just-submitted loop to reach its approval gate. */
const GATE_WAIT_MS = 10_000;

/**
 * Who decides and why, checked here with the limits the database enforces
 * (the same schemas as the API and the worker), so a bad value is refused
 * before anything is sent.
 */
function attribution(ctx: Context, command: string, values: Values) {
  if (typeof values.reason !== "string") throw usage(command, "--reason is required");
  const reason = DecisionReason.safeParse(values.reason.trim());
  if (!reason.success) {
    throw usage(command, `--reason ${reason.error.issues.map((i) => i.message).join("; ")}`);
  }
  const given = values.actor === undefined ? ctx.actor() : requiredText(command, values, "actor");
  const actor = PrincipalName.safeParse(given.trim());
  if (!actor.success) {
    throw usage(
      command,
      `${values.actor === undefined ? "KEEL_ACTOR" : "--actor"} ${JSON.stringify(given)} ${
        actor.error.issues.map((i) => i.message).join("; ")
      }`,
    );
  }
  return { actor: actor.data, reason: reason.data };
}

/** Why no loop can take a message, or undefined when one is running. */
async function loopAbsence(temporal: TemporalHandle, id: string): Promise<string | undefined> {
  try {
    const described = await temporal.client.workflow.getHandle(directiveWorkflowId(id)).describe();
    return described.status.name === "RUNNING"
      ? undefined
      : `its loop has ended (${described.status.name})`;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return "it has no loop";
    throw error;
  }
}

function refused(error: WorkflowUpdateFailedError): CliError {
  const cause = error.cause instanceof Error ? error.cause.message : error.message;
  return new CliError(EXIT.refused, "refused", `the loop refused: ${cause}`);
}

async function withDeadline<T>(temporal: TemporalHandle, ms: number, fn: () => Promise<T>) {
  try {
    return await temporal.client.withDeadline(Date.now() + ms, fn);
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError || error instanceof WorkflowNotFoundError) {
      throw error;
    }
    if (errorChain(error).some((item) => (item as { code?: unknown }).code === 4)) {
      throw new CliError(
        EXIT.unreachable,
        "unreachable",
        `the loop did not answer within ${ms / 1000}s: is a worker polling task queue ` +
          `"${temporal.target.taskQueue}"?`,
      );
    }
    throw error;
  }
}

/** Waits while a freshly started loop is still evaluating policy. */
async function untilPastPolicy(temporal: TemporalHandle, id: string): Promise<void> {
  const handle = temporal.client.workflow.getHandle(directiveWorkflowId(id));
  const deadline = Date.now() + GATE_WAIT_MS;
  while (Date.now() < deadline) {
    const status = await withDeadline(temporal, 5_000, () => handle.query(statusQuery));
    if (status.phase !== "policy") return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const DECIDE_OPTIONS = {
  reason: { type: "string" },
  actor: { type: "string" },
} as const;

/** `keel approve` and `keel reject`. */
export async function decideCommand(
  ctx: Context,
  command: "approve" | "reject",
  args: readonly string[],
): Promise<number> {
  const { values, positionals } = parseCommand(command, args, DECIDE_OPTIONS, {
    min: 1,
    max: 1,
    names: "<id>",
  });
  const id = directiveIdArg(command, positionals[0]);
  const by = attribution(ctx, command, values);
  const decision = command === "approve" ? "approved" : "rejected";
  const sql = await ctx.db();
  await loadDirective(sql, id);
  const temporal = await ctx.temporal();
  const absent = await loopAbsence(temporal, id);
  if (absent === undefined) {
    try {
      await untilPastPolicy(temporal, id);
      const handle = temporal.client.workflow.getHandle(directiveWorkflowId(id));
      const reply = await withDeadline(
        temporal,
        UPDATE_DEADLINE_MS,
        () =>
          handle.executeUpdate(command === "approve" ? approveUpdate : rejectUpdate, {
            args: [by],
          }),
      );
      if (ctx.json) {
        printJson(ctx, {
          id,
          decision: reply.decision,
          status: reply.directiveStatus,
          via: "loop",
          ...by,
        });
      } else {
        ctx.io.out(
          `${reply.decision} directive ${id} as ${by.actor} (status ${reply.directiveStatus})`,
        );
      }
      return EXIT.ok;
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) throw refused(error);
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      // The loop ended between the check and the Update: fall through.
    }
  }
  const result = await decideApproval(sql, { directiveId: id, decision, ...by });
  const why = absent ?? "its loop has ended";
  if (ctx.json) {
    printJson(ctx, {
      id,
      decision: result.approval.decision,
      status: result.directive.status,
      via: "postgres",
      recorded: result.recorded,
      actor: result.approval.actor,
      reason: result.approval.reason,
      note: `no loop is running: ${why}`,
    });
  } else if (result.recorded) {
    ctx.io.out(
      `${decision} directive ${id} as ${by.actor} (status ${result.directive.status}): ` +
        `no loop is running (${why}), so the decision was recorded directly in Postgres; ` +
        `the reconciler adopts the directive when a worker runs`,
    );
  } else {
    ctx.io.out(
      `directive ${id} was already ${result.approval.decision} by ${result.approval.actor} ` +
        `(${result.approval.reason}); nothing changed`,
    );
  }
  return EXIT.ok;
}

/** `keel abort`. */
export async function abortCommand(ctx: Context, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommand("abort", args, DECIDE_OPTIONS, {
    min: 1,
    max: 1,
    names: "<id>",
  });
  const id = directiveIdArg("abort", positionals[0]);
  const by = attribution(ctx, "abort", values);
  const sql = await ctx.db();
  const directive = await loadDirective(sql, id);
  if (isTerminal(directive.status)) {
    throw new CliError(
      EXIT.refused,
      "refused",
      `directive ${id} has already ended ${directive.status}; nothing to abort`,
    );
  }
  const temporal = await ctx.temporal();
  const absent = await loopAbsence(temporal, id);
  if (absent === undefined) {
    try {
      const handle = temporal.client.workflow.getHandle(directiveWorkflowId(id));
      const result = await withDeadline(
        temporal,
        UPDATE_DEADLINE_MS,
        () => handle.executeUpdate(abortUpdate, { args: [by] }),
      );
      if (ctx.json) {
        printJson(ctx, { id, status: result.status, reason: result.reason, via: "loop" });
      } else ctx.io.out(`directive ${id} ended ${result.status} (${result.reason})`);
      return result.status === "aborted" ? EXIT.ok : EXIT.refused;
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) throw refused(error);
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
  const finished = await finishDirective(sql, { directiveId: id, to: "aborted", ...by });
  if (!finished.changed) {
    throw new CliError(
      EXIT.refused,
      "refused",
      `directive ${id} has already ended ${finished.directive.status}; nothing to abort`,
    );
  }
  const why = absent ?? "its loop has ended";
  if (ctx.json) {
    printJson(ctx, {
      id,
      status: finished.directive.status,
      reason: by.reason,
      via: "postgres",
      note: `no loop is running: ${why}`,
    });
  } else {
    ctx.io.out(
      `directive ${id} ended aborted (${by.reason}): no loop is running (${why}), ` +
        `so the abort was recorded directly in Postgres`,
    );
  }
  return EXIT.ok;
}
