/**
 * `deno task keel`: the operator's CLI for the control loop. Submit
 * directives, decide at the approval gate, abort, and inspect what Postgres
 * records. See `deno task keel --help` and docs/cli.md.
 *
 * Exit codes: 0 success, 1 ended blocked/aborted or refused, 2 usage,
 * 3 not found, 4 invalid directive (or candidate policy), 5 database or
 * Temporal unreachable.
 *
 * @module
 */
import { classify, CLI_ENV, type Context, createContext, EXIT, usage } from "./_keel/common.ts";
import { abortCommand, decideCommand } from "./_keel/decide.ts";
import { COMMAND_HELP, GLOBAL_HELP } from "./_keel/help.ts";
import { historyCommand, listCommand, statusCommand } from "./_keel/inspect.ts";
import { policyCommand } from "./_keel/policy.ts";
import { submitCommand, watchCommand } from "./_keel/submit.ts";
import { scoreCommand } from "./_keel/score.ts";
import { tokenCommand } from "./_keel/token.ts";
import { webhookCommand } from "./_keel/webhook.ts";
import { SpanStatusCode, trace } from "@opentelemetry/api";
import { parseTelemetryConfig, readEnv, TELEMETRY_ENV } from "../config/mod.ts";
import { withInstance } from "../config/instance.ts";
import { startTelemetry, type Telemetry } from "../telemetry/otel.ts";

/** The checkout this CLI runs from: where `.data/instance.json` is looked for. */
const REPO_ROOT = new URL("../../", import.meta.url);

type Command = (ctx: Context, args: readonly string[]) => Promise<number>;

const COMMANDS: Readonly<Record<string, Command>> = {
  submit: submitCommand,
  approve: (ctx, args) => decideCommand(ctx, "approve", args),
  reject: (ctx, args) => decideCommand(ctx, "reject", args),
  abort: abortCommand,
  status: statusCommand,
  list: listCommand,
  watch: watchCommand,
  history: historyCommand,
  score: scoreCommand,
  policy: policyCommand,
  token: tokenCommand,
  webhook: webhookCommand,
};

const isHelp = (arg: string) => arg === "--help" || arg === "-h";

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  // Global options may come before the command.
  let i = 0;
  let json = false;
  let help = false;
  for (; i < args.length && args[i]!.startsWith("-") && args[i] !== "-"; i++) {
    if (args[i] === "--json") json = true;
    else if (isHelp(args[i]!)) help = true;
    else return report(json, usage("", `unknown option "${args[i]}" before the command`));
  }
  const name = args[i];
  const rest = args.slice(i + 1);
  json ||= rest.includes("--json");
  if (name === undefined || name === "help") {
    const topic = name === "help" ? rest.find((a) => !a.startsWith("-")) : undefined;
    if (topic !== undefined && COMMAND_HELP[topic] === undefined) {
      return report(json, usage("", `unknown command "${topic}"`));
    }
    if (!help && name === undefined) {
      console.error(GLOBAL_HELP);
      return EXIT.usage;
    }
    console.log(topic === undefined ? GLOBAL_HELP : COMMAND_HELP[topic]);
    return EXIT.ok;
  }
  if (name === "audit") {
    // bin/keel runs src/cli/audit.ts for it, with the "audit" permission set.
    return report(
      json,
      usage("", `audit is a task of its own: \`deno task audit\` or \`keel audit\``),
    );
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    return report(
      json,
      usage("", `unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(", ")}`),
    );
  }
  if (help || rest.some(isHelp)) {
    console.log(COMMAND_HELP[name]);
    return EXIT.ok;
  }
  let ctx: Context | undefined;
  let telemetry: Telemetry | undefined;
  try {
    telemetry = startTelemetry(
      parseTelemetryConfig(readEnv(TELEMETRY_ENV, (n) => Deno.env.get(n)), "keel-cli"),
    );
    // Nothing configured: the instance scripts/dev.sh records in .data/ (explicit variables win).
    const { env, instance } = await withInstance(readEnv(CLI_ENV, (n) => Deno.env.get(n)), {
      root: REPO_ROOT,
      names: CLI_ENV,
      decisionKey: true,
    });
    ctx = createContext({ json, env, ...(instance === undefined ? {} : { instance }) });
    const context = ctx;
    // One span per command: `keel submit` is the root of the directive's trace.
    return await trace.getTracer("keel").startActiveSpan(`keel ${name}`, async (span) => {
      try {
        const code = await command(context, rest);
        span.setAttribute("process.exit.code", code);
        return code;
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).name });
        throw error;
      } finally {
        span.end();
      }
    });
  } catch (error) {
    return report(json, error, name);
  } finally {
    try {
      await ctx?.close();
      await telemetry?.shutdown();
    } catch {
      // closing is best effort; the exit code stands
    }
  }
}

/** Prints an error as text on stderr, or as JSON on stdout; returns its exit code. */
function report(json: boolean, error: unknown, command = ""): number {
  const failure = classify(error);
  if (json) {
    console.log(JSON.stringify({
      error: {
        code: failure.code,
        kind: failure.kind,
        message: failure.message,
        ...failure.details,
      },
    }));
    return failure.code;
  }
  const prefix = command === "" ? "keel" : `keel ${command}`;
  console.error(`${prefix}: ${failure.message}`);
  const fields = failure.details.fields as { path: string; message: string }[] | undefined;
  for (const field of fields ?? []) {
    console.error(`  ${field.path === "" ? "(document)" : field.path}: ${field.message}`);
  }
  return failure.code;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
