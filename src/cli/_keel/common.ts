/**
 * Shared plumbing of the `keel` CLI: exit codes, the error that carries one,
 * argument parsing, output and the lazily opened connections.
 *
 * @module
 */
import { importDecisionKey } from "../../auth/signing.ts";
import { signingInterceptor } from "../../auth/signing_interceptor.ts";
import { tracingClientInterceptor } from "../../telemetry/temporal_tracing.ts";
import { parseArgs } from "node:util";
import { Client, Connection } from "@temporalio/client";
import {
  type EnvSnapshot,
  parseActor,
  parseDatabaseConfig,
  parseDecisionKey,
  parseTemporalConfig,
  parseWorkerConfig,
  readEnv,
} from "../../config/mod.ts";
import { describeInstance, type Instance, unreachableHint } from "../../config/instance.ts";
import { connect, redactUrl, type Sql } from "../../db/mod.ts";
import { DirectiveNotFoundError, DirectiveValidationError } from "../../directives/mod.ts";
import { errorKindOf, EXIT } from "../../errors/table.ts";
import type { LoopTarget } from "../../loop/mod.ts";

/** The CLI's exit codes; `keel --help` and docs/cli.md document them. */
export { EXIT };

/** The table printed by the help text and docs/cli.md. */
export const EXIT_CODES_HELP = `Exit codes:
  0  success (when following: the directive completed)
  1  the followed directive ended blocked or aborted, or the operation was
     refused (a conflict: already decided, not awaiting approval, ended)
  2  usage error: unknown command or option, missing or bad argument,
     unreadable input file, bad configuration
  3  not found: no directive has that id
  4  invalid directive: not JSON/YAML, or fields that fail the contract
     (policy diff: the candidate policy is not JSON or fails validation)
  5  infrastructure unreachable: the database or Temporal`;

/** An error that ends the CLI with a given exit code. */
export class CliError extends Error {
  /** The exit code. */
  readonly code: number;
  /** A stable name for JSON output. */
  readonly kind: string;
  /** Extra machine-readable detail. */
  readonly details: Record<string, unknown>;
  /** Creates the error. */
  constructor(
    code: number,
    kind: string,
    message: string,
    details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "CliError";
    this.code = code;
    this.kind = kind;
    this.details = details;
  }
}

/** A usage error (exit 2) whose message ends with a pointer to the help. */
export function usage(command: string, message: string): CliError {
  const where = command === "" ? "keel --help" : `keel ${command} --help`;
  return new CliError(EXIT.usage, "usage", `${message} (see \`${where}\`)`);
}

const INFRA_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

/** The error and its causes, outermost first. */
export function errorChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && chain.length < 8) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

/** Whether an error means a service could not be reached. */
export function isUnreachable(error: unknown): boolean {
  return errorChain(error).some((item) => {
    const e = item as { code?: unknown; name?: string };
    if (typeof e.code === "string" && INFRA_CODES.has(e.code)) return true;
    // gRPC: 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED.
    if (typeof e.code === "number" && (e.code === 14 || e.code === 4)) return true;
    return item instanceof Deno.errors.ConnectionRefused ||
      item instanceof Deno.errors.ConnectionReset || item instanceof Deno.errors.TimedOut;
  });
}

/** Maps any error to the exit code, kind and message the CLI reports. */
export function classify(error: unknown): CliError {
  if (error instanceof CliError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof DirectiveValidationError) {
    return new CliError(EXIT.invalid, "invalid_directive", "the directive is invalid", {
      fields: error.fields,
    });
  }
  if (error instanceof DirectiveNotFoundError) {
    return new CliError(EXIT.notFound, "not_found", message, { id: error.directiveId });
  }
  const found = errorKindOf(error);
  if (found !== undefined) {
    // Input and configuration errors are usage errors to the CLI.
    const kind = found.kind === "invalid_input" || found.kind === "configuration"
      ? "usage"
      : found.kind;
    return new CliError(found.exit, kind, message);
  }
  if (error instanceof Deno.errors.NotCapable) {
    return new CliError(
      EXIT.usage,
      "permission_denied",
      `${message}: outside the keel CLI's permission set "cli" in deno.json`,
    );
  }
  if (isUnreachable(error)) return new CliError(EXIT.unreachable, "unreachable", message);
  return new CliError(EXIT.refused, "error", message);
}

/** Names of the environment variables the CLI reads (a subset of ENV_VARS). */
export const CLI_ENV = [
  "DATABASE_URL",
  "KEEL_DB_POOL_MAX",
  "TEMPORAL_ADDRESS",
  "TEMPORAL_NAMESPACE",
  "TEMPORAL_TASK_QUEUE",
  "KEEL_MAX_EXECUTION_ATTEMPTS",
  "KEEL_ACTOR",
  "KEEL_DECISION_KEY",
  "KEEL_POLICY_FILE",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_SERVICE_NAME",
  "OTEL_RESOURCE_ATTRIBUTES",
  "OTEL_TRACES_SAMPLER",
  "OTEL_TRACES_SAMPLER_ARG",
  "OTEL_METRIC_EXPORT_INTERVAL",
] as const;

/** Where output goes; tests of helpers may capture it. */
export interface Output {
  /** Writes one line to stdout. */
  out(line: string): void;
  /** Writes one line to stderr. */
  err(line: string): void;
}

/** The console. */
export const consoleOutput: Output = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/** A live Temporal client for the CLI. */
export interface TemporalHandle {
  /** The client. */
  readonly client: Client;
  /** Where loops start. */
  readonly target: LoopTarget;
  /** The frontend address. */
  readonly address: string;
}

/** What every command receives. */
export interface Context {
  /** Print JSON instead of text. */
  readonly json: boolean;
  /** Output. */
  readonly io: Output;
  /** The environment snapshot (completed from the instance file when that applies). */
  readonly env: EnvSnapshot;
  /** The running instance the CLI fell back on (`.data/instance.json`), if any. */
  readonly instance?: Instance;
  /** The actor from KEEL_ACTOR (or `cli`). */
  actor(): string;
  /** Opens (once) and probes the database. */
  db(): Promise<Sql>;
  /** Connects (once) to Temporal. */
  temporal(): Promise<TemporalHandle>;
  /** Closes the Temporal connection, if open. */
  closeTemporal(): Promise<void>;
  /** Closes everything. */
  close(): Promise<void>;
}

/**
 * Builds the context; connections are opened on first use only. `env` is the
 * snapshot the entry point read (default: the CLI's variables from the
 * process), `instance` the running instance it was completed from.
 */
export function createContext(
  options: { json: boolean; io?: Output; env?: EnvSnapshot; instance?: Instance },
): Context {
  const env = options.env ?? readEnv(CLI_ENV, (name) => Deno.env.get(name));
  const io = options.io ?? consoleOutput;
  const instance = options.instance;
  // Which instance: said once, on stderr, before the first connection.
  let announced = false;
  const announce = () => {
    if (instance !== undefined && !announced) {
      io.err(`keel: using ${describeInstance(instance)}`);
    }
    announced = true;
  };
  // What to do when a service does not answer.
  const hint = (variable: string) =>
    instance !== undefined || (env.DATABASE_URL === undefined && env.TEMPORAL_ADDRESS === undefined)
      ? unreachableHint(instance)
      : `set ${variable}`;
  let sql: Sql | undefined;
  let connection: Connection | undefined;
  let temporal: TemporalHandle | undefined;
  return {
    json: options.json,
    io,
    env,
    ...(instance === undefined ? {} : { instance }),
    actor: () => parseActor(env),
    async db() {
      if (sql) return sql;
      const { databaseUrl, poolMax } = parseDatabaseConfig(env);
      announce();
      const pool = connect(databaseUrl, {
        max: poolMax ?? 2,
        connectTimeoutSeconds: 5,
        applicationName: "keel-cli",
      });
      try {
        await pool`SELECT 1`;
      } catch (cause) {
        await pool.end({ timeout: 1 }).catch(() => {});
        if (cause instanceof Deno.errors.NotCapable) throw cause;
        throw new CliError(
          EXIT.unreachable,
          "unreachable",
          `cannot reach the database at ${redactUrl(databaseUrl)}: ${(cause as Error).message} (${
            hint("DATABASE_URL")
          })`,
          {},
          { cause },
        );
      }
      sql = pool;
      return sql;
    },
    async temporal() {
      if (temporal) return temporal;
      const config = parseTemporalConfig(env);
      announce();
      const { maxAttempts } = parseWorkerConfig(
        readEnv(["KEEL_MAX_EXECUTION_ATTEMPTS"], (name) => env[name]),
      );
      try {
        connection = await Connection.connect({ address: config.address, connectTimeout: "5s" });
      } catch (cause) {
        if (cause instanceof Deno.errors.NotCapable) throw cause;
        throw new CliError(
          EXIT.unreachable,
          "unreachable",
          `cannot reach Temporal at ${config.address}: ${(cause as Error).message} (${
            hint("TEMPORAL_ADDRESS")
          })`,
          {},
          { cause },
        );
      }
      // An explicit identity keeps the SDK from asking the OS for the hostname.
      const secret = parseDecisionKey(env);
      const client = new Client({
        connection,
        namespace: config.namespace,
        identity: `keel-cli/${parseActor(env)}`,
        interceptors: {
          workflow: [
            tracingClientInterceptor(),
            // Decisions the CLI sends are signed; without a key the worker refuses them.
            ...(secret === undefined ? [] : [signingInterceptor(await importDecisionKey(secret))]),
          ],
        },
      });
      temporal = {
        client,
        address: config.address,
        target: { client, taskQueue: config.taskQueue, maxAttempts },
      };
      return temporal;
    },
    async closeTemporal() {
      const open = connection;
      connection = undefined;
      temporal = undefined;
      // Always close before exit: a GOAWAY on an open connection can abort the process.
      if (open) await open.close();
    },
    async close() {
      await this.closeTemporal();
      const pool = sql;
      sql = undefined;
      if (pool) await pool.end({ timeout: 5 });
    },
  };
}

/** Parsed options of one command. */
export type Values = Record<string, string | boolean | undefined>;

/** An option a command accepts. */
export interface OptionSpec {
  /** string or boolean. */
  readonly type: "string" | "boolean";
  /** Short alias. */
  readonly short?: string;
}

/** Parses one command's arguments strictly; errors name the bad argument. */
export function parseCommand(
  command: string,
  args: readonly string[],
  options: Record<string, OptionSpec>,
  positionals: { min: number; max: number; names: string },
): { values: Values; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        ...options,
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw usage(command, (error as Error).message.replace(/\. To specify a positional.*$/s, ""));
  }
  const values = parsed.values as Values;
  if (values.help) return { values, positionals: parsed.positionals };
  const count = parsed.positionals.length;
  if (count < positionals.min) throw usage(command, `missing ${positionals.names}`);
  if (count > positionals.max) {
    throw usage(command, `unexpected argument "${parsed.positionals[positionals.max]}"`);
  }
  return { values, positionals: parsed.positionals };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checks a directive id argument. */
export function directiveIdArg(command: string, value: string | undefined): string {
  if (value === undefined) throw usage(command, "missing <id>");
  if (!UUID.test(value)) {
    throw usage(command, `<id> "${value}" is not a directive id (a UUID)`);
  }
  return value.toLowerCase();
}

/** A required, non-blank string option. */
export function requiredText(command: string, values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== "string") throw usage(command, `--${name} is required`);
  if (value.trim() === "") throw usage(command, `--${name} must not be blank`);
  if (value.length > 2000) throw usage(command, `--${name} is longer than 2000 characters`);
  return value;
}

/** Prints one JSON document on one line. */
export function printJson(ctx: Context, value: unknown): void {
  ctx.io.out(JSON.stringify(value));
}
