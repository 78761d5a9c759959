/**
 * `keel approve`, `keel reject` and `keel abort`: the decision goes through
 * `decide` in `src/loop/commands.ts`, as the HTTP API's does: an Update to
 * the directive's loop, or, when no loop runs for it, the same decision
 * recorded directly in Postgres (the reconciler adopts the directive later).
 *
 * @module
 */
import type { Principal } from "../../auth/principal.ts";
import { SCOPES } from "../../auth/principal.ts";
import { DecisionReason } from "../../models/decision_text.ts";
import { loadDirective } from "../../directives/queries.ts";
import { decide, type DecisionAction, type DecisionOutcome } from "../../loop/commands.ts";
import {
  type Context,
  directiveIdArg,
  EXIT,
  parseCommand,
  printJson,
  usage,
  type Values,
} from "./common.ts";
import { PrincipalName } from "../../auth/principal.ts";

/**
 * Who decides and why, checked here with the limits the database enforces
 * (the same schemas as the API and the worker), so a bad value is refused
 * before anything is sent.
 */
function attribution(ctx: Context, command: string, values: Values) {
  const reason = values.reason;
  if (typeof reason !== "string") throw usage(command, "--reason is required");
  if (reason.trim() === "") throw usage(command, "--reason must not be blank");
  const checked = DecisionReason.safeParse(reason);
  if (!checked.success) {
    throw usage(command, `--reason ${checked.error.issues.map((i) => i.message).join("; ")}`);
  }
  const given = values.actor === undefined ? ctx.actor() : values.actor;
  if (typeof given !== "string" || given.trim() === "") {
    throw usage(command, "--actor must not be blank");
  }
  const actor = PrincipalName.safeParse(given.trim());
  if (!actor.success) {
    throw usage(
      command,
      `${values.actor === undefined ? "KEEL_ACTOR" : "--actor"} ${JSON.stringify(given)} ${
        actor.error.issues.map((i) => i.message).join("; ")
      }`,
    );
  }
  // The operator CLI acts with every scope, as the person KEEL_ACTOR or --actor names.
  const principal: Principal = { name: actor.data, scopes: new Set(SCOPES), kind: "cli" };
  return { principal, reason: reason.trim() };
}

async function run(
  ctx: Context,
  command: DecisionAction,
  args: readonly string[],
): Promise<DecisionOutcome> {
  const { values, positionals } = parseCommand(command, args, DECIDE_OPTIONS, {
    min: 1,
    max: 1,
    names: "<id>",
  });
  const id = directiveIdArg(command, positionals[0]);
  const by = attribution(ctx, command, values);
  const sql = await ctx.db();
  await loadDirective(sql, id); // not found exits 3 before Temporal is asked
  const temporal = await ctx.temporal();
  return await decide({ sql, target: temporal.target }, id, command, by);
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
  const outcome = await run(ctx, command, args);
  const { id } = outcome;
  const decision = command === "approve" ? "approved" : "rejected";
  if (outcome.via === "loop") {
    if (ctx.json) {
      printJson(ctx, {
        id,
        decision: outcome.decision,
        status: outcome.status,
        via: "loop",
        actor: outcome.actor,
        reason: outcome.reason,
      });
    } else {
      ctx.io.out(
        `${outcome.decision} directive ${id} as ${outcome.actor} (status ${outcome.status})`,
      );
    }
    return EXIT.ok;
  }
  const why = outcome.noLoop ?? "its loop has ended";
  if (ctx.json) {
    printJson(ctx, {
      id,
      decision: outcome.decision,
      status: outcome.status,
      via: "postgres",
      recorded: outcome.recorded,
      actor: outcome.actor,
      reason: outcome.reason,
      note: `no loop is running: ${why}`,
    });
  } else if (outcome.recorded) {
    ctx.io.out(
      `${decision} directive ${id} as ${outcome.actor} (status ${outcome.status}): ` +
        `no loop is running (${why}), so the decision was recorded directly in Postgres; ` +
        `the reconciler adopts the directive when a worker runs`,
    );
  } else {
    ctx.io.out(
      `directive ${id} was already ${outcome.decision} by ${outcome.actor} ` +
        `(${outcome.reason}); nothing changed`,
    );
  }
  return EXIT.ok;
}

/** `keel abort`. */
export async function abortCommand(ctx: Context, args: readonly string[]): Promise<number> {
  const outcome = await run(ctx, "abort", args);
  const { id } = outcome;
  if (outcome.via === "loop") {
    if (ctx.json) {
      printJson(ctx, { id, status: outcome.status, reason: outcome.reason, via: "loop" });
    } else ctx.io.out(`directive ${id} ended ${outcome.status} (${outcome.reason})`);
    return outcome.status === "aborted" ? EXIT.ok : EXIT.refused;
  }
  const why = outcome.noLoop ?? "its loop has ended";
  if (ctx.json) {
    printJson(ctx, {
      id,
      status: outcome.status,
      reason: outcome.reason,
      via: "postgres",
      note: `no loop is running: ${why}`,
    });
  } else {
    ctx.io.out(
      `directive ${id} ended aborted (${outcome.reason}): no loop is running (${why}), ` +
        `so the abort was recorded directly in Postgres`,
    );
  }
  return EXIT.ok;
}
