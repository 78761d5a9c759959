/**
 * `keel policy diff <candidate.json>`: which stored directives a candidate
 * policy would decide differently from the active one (KEEL_POLICY_FILE).
 * Reads only, in a read-only transaction; writes nothing.
 *
 * @module
 */
import { parseWorkerConfig, readEnv } from "../../config/mod.ts";
import { BUILTIN_MODULES, createRegistry } from "../../execution/registry.ts";
import {
  loadPolicy,
  type PolicyConfig,
  PolicyConfigError,
  policyWhatIf,
  WHAT_IF_LIMITS,
  type WhatIfChange,
  type WhatIfDecision,
} from "../../policy/mod.ts";
import { CliError, type Context, EXIT, parseCommand, printJson, usage } from "./common.ts";
import { time } from "./format.ts";

const DAY_MS = 86_400_000;
/** The longest period `--days` may name: 10 years. */
const MAX_DAYS = 3650;

function wholeNumber(option: string, text: string, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max) {
    throw usage("policy", `${option} "${text}" must be a whole number from 1 to ${max}`);
  }
  return value;
}

/**
 * Loads a policy file; a bad file is reported with every field's JSON path.
 * `role` says which policy it is: the candidate is an input document (exit 4
 * when invalid, like a directive), the active one is configuration (exit 2).
 */
async function policyFile(path: string, role: "candidate" | "active"): Promise<PolicyConfig> {
  try {
    return await loadPolicy(path);
  } catch (error) {
    if (!(error instanceof PolicyConfigError)) throw error;
    const cause = error.cause;
    if (cause instanceof Deno.errors.NotCapable) {
      throw new CliError(
        EXIT.usage,
        "permission_denied",
        `cannot read ${role} policy "${path}": the keel CLI may only read files inside the ` +
          `project directory (permission set "cli")`,
        {},
        { cause: error },
      );
    }
    if (cause instanceof Deno.errors.NotFound) {
      const hint = role === "active" ? " (set KEEL_POLICY_FILE or --active)" : "";
      throw usage("policy", `${role} policy "${path}" does not exist${hint}`);
    }
    const unreadable = error.issues.length === 0 && !(cause instanceof SyntaxError);
    const fields = error.issues.map((issue) => ({ path: issue.path, message: issue.message }));
    // The fields are listed one per line after the message.
    const message = fields.length === 0
      ? `${role} policy: ${error.message}`
      : `${role} policy "${path}" is invalid (${fields.length} problem${
        fields.length === 1 ? "" : "s"
      }):`;
    if (role === "active" || unreadable) {
      throw new CliError(
        EXIT.usage,
        "usage",
        role === "active" ? `${message} (set KEEL_POLICY_FILE or --active)` : message,
        { fields },
        { cause: error },
      );
    }
    throw new CliError(EXIT.invalid, "invalid_policy", message, { fields }, { cause: error });
  }
}

function side(decision: WhatIfDecision): string {
  return `${decision.verdict}${decision.auto_approve ? " [auto-approve]" : ""} by rule ` +
    `${decision.rule}: ${decision.reason}`;
}

function changeJson(change: WhatIfChange): Record<string, unknown> {
  return { ...change, created_at: time(change.created_at) };
}

/** `keel policy diff`. */
export async function policyCommand(ctx: Context, args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) throw usage("policy", "missing subcommand: diff");
  if (sub !== "diff") throw usage("policy", `unknown subcommand "${sub}"; subcommands: diff`);
  const { values, positionals } = parseCommand(
    "policy",
    rest,
    { days: { type: "string" }, limit: { type: "string" }, active: { type: "string" } },
    { min: 1, max: 1, names: "<candidate.json>" },
  );
  const days = wholeNumber("--days", (values.days as string | undefined) ?? "7", MAX_DAYS);
  const limit = wholeNumber(
    "--limit",
    (values.limit as string | undefined) ?? String(WHAT_IF_LIMITS.defaultLimit),
    WHAT_IF_LIMITS.maxLimit,
  );
  const activePath = typeof values.active === "string"
    ? values.active
    : parseWorkerConfig(readEnv(["KEEL_POLICY_FILE"], (name) => ctx.env[name])).policyFile;
  // Both files are checked before any connection is made.
  const candidate = await policyFile(positionals[0]!, "candidate");
  const active = await policyFile(activePath, "active");
  const registry = createRegistry(BUILTIN_MODULES);
  const sql = await ctx.db();
  const result = await policyWhatIf(sql, {
    active,
    candidate,
    since: new Date(Date.now() - days * DAY_MS),
    limit,
    moduleOf: (type) => registry.find(type),
  });
  if (ctx.json) {
    printJson(ctx, {
      ...result,
      since: time(result.since),
      changed: result.changes.length,
      changes: result.changes.map(changeJson),
    });
    return EXIT.ok;
  }
  const out = (line: string) => ctx.io.out(line);
  const named = (p: typeof result.active) => `${p.name}@${p.version} (sha256 ${p.sha256})`;
  out(`active     ${named(result.active)}`);
  out(`candidate  ${named(result.candidate)}`);
  for (const change of result.changes) {
    out("");
    out(
      `${change.directive_id} ${change.type} ${change.status} created ${time(change.created_at)}: ${
        change.differs.join(", ")
      } would change`,
    );
    out(`  active     ${side(change.active)}`);
    out(`  candidate  ${side(change.candidate)}`);
  }
  out("");
  out(
    `examined ${result.examined}, changed ${result.changes.length} ` +
      `(directives created in the last ${days} day${days === 1 ? "" : "s"}` +
      `${result.limited ? `; only the newest ${limit}: raise --limit for more` : ""})`,
  );
  return EXIT.ok;
}
