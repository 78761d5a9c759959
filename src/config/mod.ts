/**
 * Configuration: every environment variable Keel reads, parsed once with zod at
 * an entry point and passed inward. No other module reads the environment.
 *
 * @module
 */
import { z } from "zod";

/** One documented environment variable. */
export interface EnvVar {
  /** The variable's name. */
  readonly name: string;
  /** What it configures. */
  readonly description: string;
  /** The value used when it is unset, if any. */
  readonly default?: string;
}

/** Every environment variable the TypeScript code reads. `.env.example` lists exactly these. */
export const ENV_VARS: readonly EnvVar[] = [
  {
    name: "DATABASE_URL",
    description: "Postgres URL the application connects with (the keel_app role, not the owner)",
    default: "postgres://keel_app@127.0.0.1:5432/keel",
  },
  {
    name: "MIGRATION_DATABASE_URL",
    description: "Postgres URL of the schema owner, used by migrate and validate",
    default: "postgres://postgres@127.0.0.1:5432/keel",
  },
  {
    name: "TEMPORAL_ADDRESS",
    description: "Temporal frontend host:port",
    default: "127.0.0.1:7233",
  },
  { name: "TEMPORAL_NAMESPACE", description: "Temporal namespace", default: "default" },
  { name: "TEMPORAL_TASK_QUEUE", description: "Task queue the worker polls", default: "keel" },
  {
    name: "KEEL_POLICY_FILE",
    description: "Policy the worker evaluates directives against (JSON, see policies/README.md)",
    default: "policies/default.json",
  },
  {
    name: "KEEL_MAX_EXECUTION_ATTEMPTS",
    description: "Execution attempts per directive before an ERROR outcome aborts it",
    default: "2",
  },
  {
    name: "KEEL_RECONCILE_INTERVAL_SECONDS",
    description: "Seconds between reconciler passes that adopt directives with no running loop",
    default: "30",
  },
  {
    name: "KEEL_ACTOR",
    description: "Identity the CLI records on the ledger for approve, reject and abort",
    default: "cli",
  },
  {
    name: "KEEL_LOG_LEVEL",
    description: "Lowest log level written: debug, info, warn or error",
    default: "info",
  },
];

/** A snapshot of named environment variables; unset ones are absent. */
export type EnvSnapshot = Readonly<Record<string, string | undefined>>;

/**
 * Reads the named variables through `getter` (the entry point passes the runtime's), so a
 * process needs env permission for exactly these names and no others.
 */
export function readEnv(
  names: readonly string[],
  getter: (name: string) => string | undefined,
): EnvSnapshot {
  const snapshot: Record<string, string | undefined> = {};
  for (const name of names) {
    const value = getter(name);
    if (value !== undefined && value !== "") snapshot[name] = value;
  }
  return snapshot;
}

function defaultOf(name: string): string {
  const found = ENV_VARS.find((v) => v.name === name)?.default;
  if (found === undefined) throw new Error(`No default is documented for "${name}"`);
  return found;
}

const postgresUrl = z.string().refine(
  (value) => /^postgres(ql)?:\/\/[^\s]+$/.test(value),
  "must be a postgres:// or postgresql:// URL",
);

const logLevel = z.enum(["debug", "info", "warn", "error"]);

/** Thrown when configuration is invalid; the message names each bad variable. */
export class ConfigError extends Error {
  /** Creates a config error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
  }
}

function parseWith<T>(schema: z.ZodType<T>, env: EnvSnapshot): T {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join(".");
    return `  ${name}=${JSON.stringify(env[name] ?? "")}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`, { cause: result.error });
}

const databaseSchema = z.object({
  DATABASE_URL: postgresUrl.default(defaultOf("DATABASE_URL")),
  KEEL_LOG_LEVEL: logLevel.default("info"),
});

/** Configuration for processes that use the application connection. */
export interface DatabaseConfig {
  /** The application connection URL. */
  readonly databaseUrl: string;
  /** The log level. */
  readonly logLevel: LogLevel;
}

/** A log level. */
export type LogLevel = z.infer<typeof logLevel>;

/** Parses the application's database configuration. */
export function parseDatabaseConfig(env: EnvSnapshot): DatabaseConfig {
  const parsed = parseWith(databaseSchema, env);
  return { databaseUrl: parsed.DATABASE_URL, logLevel: parsed.KEEL_LOG_LEVEL };
}

const migrationSchema = z.object({
  MIGRATION_DATABASE_URL: postgresUrl.optional(),
  DATABASE_URL: postgresUrl.optional(),
  KEEL_LOG_LEVEL: logLevel.default("info"),
});

/** Configuration for the migration runner and validate. */
export interface MigrationConfig {
  /** The schema owner's connection URL. */
  readonly migrationDatabaseUrl: string;
  /** The log level. */
  readonly logLevel: LogLevel;
}

/**
 * Parses the migration configuration. The owner URL falls back to
 * `DATABASE_URL` so a single-role setup works, then to the documented default.
 */
export function parseMigrationConfig(env: EnvSnapshot): MigrationConfig {
  const parsed = parseWith(migrationSchema, env);
  return {
    migrationDatabaseUrl: parsed.MIGRATION_DATABASE_URL ?? parsed.DATABASE_URL ??
      defaultOf("MIGRATION_DATABASE_URL"),
    logLevel: parsed.KEEL_LOG_LEVEL,
  };
}

const temporalSchema = z.object({
  TEMPORAL_ADDRESS: z.string().regex(/^[^\s:]+:\d{1,5}$/, "must be host:port").default(
    defaultOf("TEMPORAL_ADDRESS"),
  ),
  TEMPORAL_NAMESPACE: z.string().min(1).max(255).default(defaultOf("TEMPORAL_NAMESPACE")),
  TEMPORAL_TASK_QUEUE: z.string().min(1).max(255).default(defaultOf("TEMPORAL_TASK_QUEUE")),
});

/** Where the Temporal worker and clients connect. */
export interface TemporalConfig {
  /** host:port of the Temporal frontend. */
  readonly address: string;
  /** The namespace. */
  readonly namespace: string;
  /** The task queue. */
  readonly taskQueue: string;
}

/** Parses the Temporal configuration. */
export function parseTemporalConfig(env: EnvSnapshot): TemporalConfig {
  const parsed = parseWith(temporalSchema, env);
  return {
    address: parsed.TEMPORAL_ADDRESS,
    namespace: parsed.TEMPORAL_NAMESPACE,
    taskQueue: parsed.TEMPORAL_TASK_QUEUE,
  };
}

const workerSchema = z.object({
  KEEL_POLICY_FILE: z.string().min(1).default(defaultOf("KEEL_POLICY_FILE")),
  KEEL_MAX_EXECUTION_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(
    Number(defaultOf("KEEL_MAX_EXECUTION_ATTEMPTS")),
  ),
  KEEL_RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(
    Number(defaultOf("KEEL_RECONCILE_INTERVAL_SECONDS")),
  ),
});

/** What the worker runs with, beyond its connections. */
export interface WorkerConfig {
  /** The policy file. */
  readonly policyFile: string;
  /** Execution attempts per directive. */
  readonly maxAttempts: number;
  /** Seconds between reconciler passes. */
  readonly reconcileIntervalSeconds: number;
}

/** Parses the worker's settings. */
export function parseWorkerConfig(env: EnvSnapshot): WorkerConfig {
  const parsed = parseWith(workerSchema, env);
  return {
    policyFile: parsed.KEEL_POLICY_FILE,
    maxAttempts: parsed.KEEL_MAX_EXECUTION_ATTEMPTS,
    reconcileIntervalSeconds: parsed.KEEL_RECONCILE_INTERVAL_SECONDS,
  };
}

const actorSchema = z.object({
  KEEL_ACTOR: z.string().trim().min(1).max(200).default(defaultOf("KEEL_ACTOR")),
});

/** The identity the CLI records on the ledger. */
export function parseActor(env: EnvSnapshot): string {
  return parseWith(actorSchema, env).KEEL_ACTOR;
}
