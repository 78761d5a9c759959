/**
 * Configuration: every environment variable Keel reads, parsed once with zod at
 * an entry point and passed inward. No other module reads the environment.
 *
 * @module
 */
import { z } from "zod";
import type { ApiToken } from "../auth/tokens.ts";
import { parseTokenList, TokenListError } from "../auth/token_list.ts";

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
    name: "KEEL_DB_POOL_MAX",
    description:
      "Connections per process pool (default: the process's own, 2 to 10); 1 for embedded PGlite",
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
    description:
      "Policy the worker evaluates directives against, and the active side of keel policy diff (JSON, see policies/README.md)",
    default: "policies/default.json",
  },
  {
    name: "KEEL_MAX_EXECUTION_ATTEMPTS",
    description:
      "Execution attempts per directive (the worker's limit): an attempt that ends in ERROR or is lost with its worker is followed by another only for a retry-safe module while attempts remain",
    default: "2",
  },
  {
    name: "KEEL_RECONCILE_INTERVAL_SECONDS",
    description: "Seconds between reconciler passes that adopt directives with no running loop",
    default: "30",
  },
  {
    name: "KEEL_MAX_CACHED_WORKFLOWS",
    description:
      "Workflows the worker keeps in memory (0: none); beyond it the least recently used, such as directives parked at the approval gate, are evicted and replayed from their history when their next event arrives",
    default: "500",
  },
  {
    name: "KEEL_DECISION_KEY",
    description: "Shared secret (at least 32 bytes) the API and CLI sign decisions with and the " +
      "worker verifies them with; unset: the worker refuses every human decision",
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
  {
    name: "KEEL_LLM_PROVIDER",
    description: "Model provider for call_llm: noop (refuses every call) or anthropic",
    default: "noop",
  },
  {
    name: "ANTHROPIC_API_KEY",
    description: "Anthropic API key; required when the LLM provider is anthropic",
  },
  {
    name: "ANTHROPIC_BASE_URL",
    description: "Anthropic API base URL (scheme and host, no /v1)",
    default: "https://api.anthropic.com",
  },
  {
    name: "KEEL_LLM_TIMEOUT_MS",
    description: "Milliseconds before one LLM call is abandoned as a timeout",
    default: "60000",
  },
  {
    name: "KEEL_EMBEDDINGS_PROVIDER",
    description: "Embeddings provider: noop (refuses every call) or openai",
    default: "noop",
  },
  {
    name: "OPENAI_API_KEY",
    description: "OpenAI API key; required when the embeddings provider is openai",
  },
  {
    name: "OPENAI_BASE_URL",
    description: "OpenAI API base URL (scheme and host, no /v1)",
    default: "https://api.openai.com",
  },
  {
    name: "KEEL_EMBEDDINGS_MODEL",
    description:
      "The embeddings model completed directives are remembered with, and searches embed with",
    default: "text-embedding-3-small",
  },
  {
    name: "KEEL_EMBEDDINGS_TIMEOUT_MS",
    description: "Milliseconds before one embeddings call is abandoned as a timeout",
    default: "30000",
  },
  {
    name: "KEEL_ARTIFACT_STORE",
    description: "Where artifact bodies of 64 KiB and more go: fs (a directory) or s3",
    default: "fs",
  },
  {
    name: "KEEL_ARTIFACT_DIR",
    description: "Directory of the filesystem artifact store",
    default: ".data/artifacts",
  },
  {
    name: "KEEL_ARTIFACT_MAX_BYTES",
    description: "Largest artifact body accepted, in bytes",
    default: "10485760",
  },
  {
    name: "KEEL_S3_ENDPOINT",
    description: "S3-compatible endpoint URL, e.g. https://<account>.r2.cloudflarestorage.com",
  },
  { name: "KEEL_S3_BUCKET", description: "Bucket of the S3 artifact store (it must exist)" },
  {
    name: "KEEL_S3_REGION",
    description: "Region of the bucket; auto for Cloudflare R2",
    default: "auto",
  },
  {
    name: "KEEL_S3_FORCE_PATH_STYLE",
    description: "Address the bucket in the URL path (true for most S3-compatible servers)",
    default: "true",
  },
  { name: "KEEL_S3_ACCESS_KEY_ID", description: "Access key id of the S3 artifact store" },
  { name: "KEEL_S3_SECRET_ACCESS_KEY", description: "Secret access key of the S3 artifact store" },
  {
    name: "OTEL_EXPORTER_OTLP_ENDPOINT",
    description: "OTLP/HTTP base URL (e.g. http://127.0.0.1:4318); unset: no telemetry is exported",
  },
  {
    name: "OTEL_SERVICE_NAME",
    description: "service.name on every span and metric (default: the process, e.g. keel-worker)",
  },
  {
    name: "OTEL_RESOURCE_ATTRIBUTES",
    description: "Extra resource attributes, key=value pairs separated by commas",
  },
  {
    name: "OTEL_TRACES_SAMPLER",
    description: "always_on, always_off, traceidratio or parentbased_traceidratio",
    default: "parentbased_always_on",
  },
  { name: "OTEL_TRACES_SAMPLER_ARG", description: "Ratio for the traceidratio samplers, 0..1" },
  {
    name: "OTEL_METRIC_EXPORT_INTERVAL",
    description: "Milliseconds between metric exports",
    default: "60000",
  },
  {
    name: "KEEL_EVALUATOR",
    description:
      "Evaluation provider: default (deterministic, stored) or braintrust (also logged there)",
    default: "default",
  },
  {
    name: "KEEL_EVALUATION_TIMEOUT_MS",
    description: "Milliseconds an evaluator may take before its score is abandoned",
    default: "10000",
  },
  {
    name: "BRAINTRUST_API_KEY",
    description: "Braintrust API key; required for the braintrust evaluator",
  },
  {
    name: "BRAINTRUST_API_URL",
    description: "Braintrust API base URL",
    default: "https://api.braintrust.dev",
  },
  {
    name: "BRAINTRUST_PROJECT",
    description: "Braintrust project that receives scores",
    default: "keel",
  },
  { name: "KEEL_HTTP_HOST", description: "Address the HTTP API listens on", default: "127.0.0.1" },
  { name: "KEEL_HTTP_PORT", description: "Port the HTTP API listens on", default: "8080" },
  {
    name: "KEEL_API_TOKENS",
    description:
      "API tokens as name:scope+scope:sha256hex,... (scopes read, submit, approve, abort, score, admin); `deno task keel token new` prints an entry",
  },
  {
    name: "KEEL_WEBHOOK_INTERVAL_SECONDS",
    description: "Seconds between the worker's webhook delivery passes when nothing is due",
    default: "1",
  },
  {
    name: "KEEL_WEBHOOK_MAX_ATTEMPTS",
    description: "Attempts per webhook delivery before it is marked failed",
    default: "15",
  },
  {
    name: "KEEL_WEBHOOK_MAX_BACKOFF_SECONDS",
    description: "Longest wait between attempts of a delivery (waits double from 1 s)",
    default: "300",
  },
  {
    name: "KEEL_WEBHOOK_TIMEOUT_MS",
    description: "Milliseconds a webhook receiver may take to answer",
    default: "10000",
  },
  {
    name: "KEEL_MCP_URL",
    description: "Where `deno task mcp` forwards an agent's MCP messages: the API server's /mcp",
    default: "http://127.0.0.1:8080/mcp",
  },
  {
    name: "KEEL_MCP_TOKEN",
    description:
      "The agent's API token for `deno task mcp` (scopes read, submit); the bridge holds no other secret",
  },
  {
    name: "KEEL_PUBLIC_READ",
    description: "1: GET /api routes need no token (anyone reaching the server reads everything)",
    default: "0",
  },
  {
    name: "KEEL_ALLOWED_HOSTS",
    description:
      "Host header values the HTTP API answers, comma-separated; unset: the listen host, localhost and 127.0.0.1 with the port",
  },
  {
    name: "KEEL_HTTP_MAX_BODY_BYTES",
    description: "Largest request body the HTTP API accepts",
    default: "262144",
  },
  {
    name: "KEEL_HTTP_REQUEST_TIMEOUT_MS",
    description: "Milliseconds an HTTP request may take before it answers 503",
    default: "30000",
  },
  { name: "KEEL_CORS_ORIGIN", description: "Origin allowed by CORS; unset: CORS is off" },
  {
    name: "KEEL_TEMPORAL_UI_URL",
    description: "Temporal UI base URL the dashboard links to",
    default: "http://127.0.0.1:8233",
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
  KEEL_DB_POOL_MAX: z.coerce.number().int().min(1).max(100).optional(),
});

/** Configuration for processes that use the application connection. */
export interface DatabaseConfig {
  /** The application connection URL. */
  readonly databaseUrl: string;
  /** The log level. */
  readonly logLevel: LogLevel;
  /** Pool size when set (1 against PGlite); otherwise each process picks its own. */
  readonly poolMax?: number;
}

/** A log level. */
export type LogLevel = z.infer<typeof logLevel>;

/** Parses the application's database configuration. */
export function parseDatabaseConfig(env: EnvSnapshot): DatabaseConfig {
  const parsed = parseWith(databaseSchema, env);
  return {
    databaseUrl: parsed.DATABASE_URL,
    logLevel: parsed.KEEL_LOG_LEVEL,
    ...(parsed.KEEL_DB_POOL_MAX === undefined ? {} : { poolMax: parsed.KEEL_DB_POOL_MAX }),
  };
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
  KEEL_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000)
    .refine((n) => n !== 1, "must be 0 (no cache) or at least 2")
    .default(Number(defaultOf("KEEL_MAX_CACHED_WORKFLOWS"))),
});

const timeoutMs = z.coerce.number().int().min(100).max(600_000);

/** The variables of the webhook section. */
export const WEBHOOK_ENV: readonly string[] = [
  "KEEL_WEBHOOK_INTERVAL_SECONDS",
  "KEEL_WEBHOOK_MAX_ATTEMPTS",
  "KEEL_WEBHOOK_MAX_BACKOFF_SECONDS",
  "KEEL_WEBHOOK_TIMEOUT_MS",
];

const webhookSchema = z.object({
  KEEL_WEBHOOK_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(
    Number(defaultOf("KEEL_WEBHOOK_INTERVAL_SECONDS")),
  ),
  KEEL_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(
    Number(defaultOf("KEEL_WEBHOOK_MAX_ATTEMPTS")),
  ),
  KEEL_WEBHOOK_MAX_BACKOFF_SECONDS: z.coerce.number().int().min(1).max(86_400).default(
    Number(defaultOf("KEEL_WEBHOOK_MAX_BACKOFF_SECONDS")),
  ),
  KEEL_WEBHOOK_TIMEOUT_MS: timeoutMs.default(Number(defaultOf("KEEL_WEBHOOK_TIMEOUT_MS"))),
});

/** How the worker delivers webhooks. */
export interface WebhookConfig {
  /** Seconds between passes when nothing is due. */
  readonly intervalSeconds: number;
  /** Attempts before a delivery is marked failed. */
  readonly maxAttempts: number;
  /** The longest wait between attempts. */
  readonly maxBackoffSeconds: number;
  /** Milliseconds a receiver may take. */
  readonly timeoutMs: number;
}

/** Parses the webhook section. */
export function parseWebhookConfig(env: EnvSnapshot): WebhookConfig {
  const parsed = parseWith(webhookSchema, env);
  return {
    intervalSeconds: parsed.KEEL_WEBHOOK_INTERVAL_SECONDS,
    maxAttempts: parsed.KEEL_WEBHOOK_MAX_ATTEMPTS,
    maxBackoffSeconds: parsed.KEEL_WEBHOOK_MAX_BACKOFF_SECONDS,
    timeoutMs: parsed.KEEL_WEBHOOK_TIMEOUT_MS,
  };
}

/** What the worker runs with, beyond its connections. */
export interface WorkerConfig {
  /** The policy file. */
  readonly policyFile: string;
  /** Execution attempts per directive. */
  readonly maxAttempts: number;
  /** Seconds between reconciler passes. */
  readonly reconcileIntervalSeconds: number;
  /** Workflows the worker keeps cached (0: none). */
  readonly maxCachedWorkflows: number;
}

/** Parses the worker's settings. */
export function parseWorkerConfig(env: EnvSnapshot): WorkerConfig {
  const parsed = parseWith(workerSchema, env);
  return {
    policyFile: parsed.KEEL_POLICY_FILE,
    maxAttempts: parsed.KEEL_MAX_EXECUTION_ATTEMPTS,
    reconcileIntervalSeconds: parsed.KEEL_RECONCILE_INTERVAL_SECONDS,
    maxCachedWorkflows: parsed.KEEL_MAX_CACHED_WORKFLOWS,
  };
}

const decisionKeySchema = z.object({
  KEEL_DECISION_KEY: z.string().refine(
    (key) => new TextEncoder().encode(key).length >= 32,
    "must be at least 32 bytes (e.g. 64 hex characters from `openssl rand -hex 32`)",
  ).optional(),
});

/**
 * The secret decisions are signed and verified with, or undefined when unset.
 * The value is never echoed in an error.
 */
export function parseDecisionKey(env: EnvSnapshot): string | undefined {
  return parseWith(decisionKeySchema, env).KEEL_DECISION_KEY;
}

const actorSchema = z.object({
  KEEL_ACTOR: z.string().trim().min(1).max(200).default(defaultOf("KEEL_ACTOR")),
});

/** The identity the CLI records on the ledger. */
export function parseActor(env: EnvSnapshot): string {
  return parseWith(actorSchema, env).KEEL_ACTOR;
}

const httpUrl = z.string().refine(
  (value) => /^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(value),
  "must be an http:// or https:// URL",
);

const providersSchema = z.object({
  KEEL_LLM_PROVIDER: z.enum(["noop", "anthropic"]).default("noop"),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: httpUrl.default(defaultOf("ANTHROPIC_BASE_URL")),
  KEEL_LLM_TIMEOUT_MS: timeoutMs.default(Number(defaultOf("KEEL_LLM_TIMEOUT_MS"))),
  KEEL_EMBEDDINGS_PROVIDER: z.enum(["noop", "openai"]).default("noop"),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: httpUrl.default(defaultOf("OPENAI_BASE_URL")),
  KEEL_EMBEDDINGS_TIMEOUT_MS: timeoutMs.default(Number(defaultOf("KEEL_EMBEDDINGS_TIMEOUT_MS"))),
  KEEL_EMBEDDINGS_MODEL: z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/, "must be a model id")
    .default(defaultOf("KEEL_EMBEDDINGS_MODEL")),
}).superRefine((env, ctx) => {
  // The key's value is never echoed: parseWith quotes the (absent) value only.
  if (env.KEEL_LLM_PROVIDER === "anthropic" && env.ANTHROPIC_API_KEY === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["ANTHROPIC_API_KEY"],
      message: "is required when KEEL_LLM_PROVIDER=anthropic",
    });
  }
  if (env.KEEL_EMBEDDINGS_PROVIDER === "openai" && env.OPENAI_API_KEY === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["OPENAI_API_KEY"],
      message: "is required when KEEL_EMBEDDINGS_PROVIDER=openai",
    });
  }
});

/** Which LLM provider to build, with what it needs. */
export type LlmProviderConfig =
  | { readonly kind: "noop" }
  | {
    readonly kind: "anthropic";
    readonly apiKey: string;
    readonly baseUrl: string;
    readonly timeoutMs: number;
  };

/** Which embeddings provider to build, with what it needs. */
export type EmbeddingsProviderConfig =
  | { readonly kind: "noop" }
  | {
    readonly kind: "openai";
    readonly apiKey: string;
    readonly baseUrl: string;
    readonly timeoutMs: number;
    /** What completed directives are remembered with. */
    readonly model: string;
  };

/** The model providers a worker uses. */
export interface ProvidersConfig {
  /** For `call_llm`. */
  readonly llm: LlmProviderConfig;
  /** For embeddings. */
  readonly embeddings: EmbeddingsProviderConfig;
}

/**
 * Parses the provider settings. Both default to `noop`; an opt-in provider
 * without its key is refused. Error messages never show a key: a key is only
 * ever reported missing.
 */
export function parseProvidersConfig(env: EnvSnapshot): ProvidersConfig {
  const redacted = { ...env };
  for (const name of ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]) {
    if (redacted[name] !== undefined) redacted[name] = "(redacted)";
  }
  const result = providersSchema.safeParse(env);
  // A key only ever passes or is missing, so the redacted copy fails the same way.
  const parsed = result.success ? result.data : parseWith(providersSchema, redacted);
  return {
    llm: parsed.KEEL_LLM_PROVIDER === "anthropic"
      ? {
        kind: "anthropic",
        apiKey: parsed.ANTHROPIC_API_KEY as string,
        baseUrl: parsed.ANTHROPIC_BASE_URL,
        timeoutMs: parsed.KEEL_LLM_TIMEOUT_MS,
      }
      : { kind: "noop" },
    embeddings: parsed.KEEL_EMBEDDINGS_PROVIDER === "openai"
      ? {
        kind: "openai",
        apiKey: parsed.OPENAI_API_KEY as string,
        baseUrl: parsed.OPENAI_BASE_URL,
        timeoutMs: parsed.KEEL_EMBEDDINGS_TIMEOUT_MS,
        model: parsed.KEEL_EMBEDDINGS_MODEL,
      }
      : { kind: "noop" },
  };
}

const artifactSchema = z.object({
  KEEL_ARTIFACT_STORE: z.enum(["fs", "s3"]).default("fs"),
  KEEL_ARTIFACT_DIR: z.string().min(1).default(defaultOf("KEEL_ARTIFACT_DIR")),
  KEEL_ARTIFACT_MAX_BYTES: z.coerce.number().int().min(65_536).max(1024 ** 3).default(
    Number(defaultOf("KEEL_ARTIFACT_MAX_BYTES")),
  ),
  KEEL_S3_ENDPOINT: httpUrl.optional(),
  KEEL_S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a bucket name")
    .optional(),
  KEEL_S3_REGION: z.string().min(1).max(64).default(defaultOf("KEEL_S3_REGION")),
  KEEL_S3_FORCE_PATH_STYLE: z.enum(["true", "false"]).default("true"),
  KEEL_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  KEEL_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
}).superRefine((env, ctx) => {
  if (env.KEEL_ARTIFACT_STORE !== "s3") return;
  for (
    const name of [
      "KEEL_S3_ENDPOINT",
      "KEEL_S3_BUCKET",
      "KEEL_S3_ACCESS_KEY_ID",
      "KEEL_S3_SECRET_ACCESS_KEY",
    ] as const
  ) {
    if (env[name] === undefined) {
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: "is required when KEEL_ARTIFACT_STORE=s3",
      });
    }
  }
});

/** Where artifact bodies go. */
export type ArtifactConfig =
  & { readonly maxBytes: number }
  & (
    | { readonly kind: "fs"; readonly dir: string }
    | {
      readonly kind: "s3";
      readonly endpoint: string;
      readonly bucket: string;
      readonly region: string;
      readonly forcePathStyle: boolean;
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
    }
  );

/** The variables {@linkcode parseArtifactConfig} reads. */
export const ARTIFACT_ENV: readonly string[] = [
  "KEEL_ARTIFACT_STORE",
  "KEEL_ARTIFACT_DIR",
  "KEEL_ARTIFACT_MAX_BYTES",
  "KEEL_S3_ENDPOINT",
  "KEEL_S3_BUCKET",
  "KEEL_S3_REGION",
  "KEEL_S3_FORCE_PATH_STYLE",
  "KEEL_S3_ACCESS_KEY_ID",
  "KEEL_S3_SECRET_ACCESS_KEY",
];

/** Parses the artifact store settings; the secret key is never echoed in an error. */
export function parseArtifactConfig(env: EnvSnapshot): ArtifactConfig {
  const redacted = { ...env };
  if (redacted.KEEL_S3_SECRET_ACCESS_KEY !== undefined) {
    redacted.KEEL_S3_SECRET_ACCESS_KEY = "(redacted)";
  }
  const result = artifactSchema.safeParse(env);
  const parsed = result.success ? result.data : parseWith(artifactSchema, redacted);
  if (parsed.KEEL_ARTIFACT_STORE === "fs") {
    return { kind: "fs", dir: parsed.KEEL_ARTIFACT_DIR, maxBytes: parsed.KEEL_ARTIFACT_MAX_BYTES };
  }
  return {
    kind: "s3",
    maxBytes: parsed.KEEL_ARTIFACT_MAX_BYTES,
    endpoint: parsed.KEEL_S3_ENDPOINT ?? "",
    bucket: parsed.KEEL_S3_BUCKET ?? "",
    region: parsed.KEEL_S3_REGION,
    forcePathStyle: parsed.KEEL_S3_FORCE_PATH_STYLE === "true",
    accessKeyId: parsed.KEEL_S3_ACCESS_KEY_ID ?? "",
    secretAccessKey: parsed.KEEL_S3_SECRET_ACCESS_KEY ?? "",
  };
}

const samplers = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;

const telemetrySchema = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(200).optional(),
  OTEL_RESOURCE_ATTRIBUTES: z.string().max(4000).optional(),
  OTEL_TRACES_SAMPLER: z.enum(samplers).default("parentbased_always_on"),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  OTEL_METRIC_EXPORT_INTERVAL: z.coerce.number().int().min(100).max(3_600_000).default(
    Number(defaultOf("OTEL_METRIC_EXPORT_INTERVAL")),
  ),
});

/** OpenTelemetry settings, from the standard `OTEL_*` variables. */
export interface TelemetryConfig {
  /** OTLP/HTTP base URL; absent: nothing is exported. */
  readonly endpoint?: string;
  /** service.name. */
  readonly serviceName: string;
  /** Extra resource attributes. */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /** The sampler's name. */
  readonly sampler: (typeof samplers)[number];
  /** The ratio for ratio samplers. */
  readonly samplerRatio: number;
  /** Milliseconds between metric exports. */
  readonly metricIntervalMs: number;
}

/** Parses the `OTEL_*` variables; `service` names the process when OTEL_SERVICE_NAME is unset. */
export function parseTelemetryConfig(env: EnvSnapshot, service: string): TelemetryConfig {
  const parsed = parseWith(telemetrySchema, env);
  const resourceAttributes: Record<string, string> = {};
  for (const pair of (parsed.OTEL_RESOURCE_ATTRIBUTES ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    resourceAttributes[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(
      pair.slice(at + 1).trim(),
    );
  }
  return {
    ...(parsed.OTEL_EXPORTER_OTLP_ENDPOINT === undefined
      ? {}
      : { endpoint: parsed.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "") }),
    serviceName: parsed.OTEL_SERVICE_NAME ?? service,
    resourceAttributes,
    sampler: parsed.OTEL_TRACES_SAMPLER,
    samplerRatio: parsed.OTEL_TRACES_SAMPLER_ARG,
    metricIntervalMs: parsed.OTEL_METRIC_EXPORT_INTERVAL,
  };
}

/** The variables {@linkcode parseTelemetryConfig} reads. */
export const TELEMETRY_ENV: readonly string[] = [
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_SERVICE_NAME",
  "OTEL_RESOURCE_ATTRIBUTES",
  "OTEL_TRACES_SAMPLER",
  "OTEL_TRACES_SAMPLER_ARG",
  "OTEL_METRIC_EXPORT_INTERVAL",
];

const evaluationSchema = z.object({
  KEEL_EVALUATOR: z.enum(["default", "braintrust"]).default("default"),
  KEEL_EVALUATION_TIMEOUT_MS: timeoutMs.default(Number(defaultOf("KEEL_EVALUATION_TIMEOUT_MS"))),
  BRAINTRUST_API_KEY: z.string().min(1).optional(),
  BRAINTRUST_API_URL: httpUrl.default(defaultOf("BRAINTRUST_API_URL")),
  BRAINTRUST_PROJECT: z.string().min(1).max(200).default(defaultOf("BRAINTRUST_PROJECT")),
}).superRefine((env, ctx) => {
  if (env.KEEL_EVALUATOR === "braintrust" && env.BRAINTRUST_API_KEY === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["BRAINTRUST_API_KEY"],
      message: "is required when KEEL_EVALUATOR=braintrust",
    });
  }
});

/** Which evaluation provider scores runs. */
export interface EvaluationConfig {
  /** `default` or `braintrust`. */
  readonly kind: "default" | "braintrust";
  /** Milliseconds before a score is abandoned. */
  readonly timeoutMs: number;
  /** Braintrust settings, when chosen. */
  readonly braintrust?: {
    readonly apiKey: string;
    readonly apiUrl: string;
    readonly project: string;
  };
}

/** Parses the evaluation settings; the Braintrust key is never echoed in an error. */
export function parseEvaluationConfig(env: EnvSnapshot): EvaluationConfig {
  const redacted = { ...env };
  if (redacted.BRAINTRUST_API_KEY !== undefined) redacted.BRAINTRUST_API_KEY = "(redacted)";
  const result = evaluationSchema.safeParse(env);
  const parsed = result.success ? result.data : parseWith(evaluationSchema, redacted);
  return {
    kind: parsed.KEEL_EVALUATOR,
    timeoutMs: parsed.KEEL_EVALUATION_TIMEOUT_MS,
    ...(parsed.KEEL_EVALUATOR === "braintrust"
      ? {
        braintrust: {
          apiKey: parsed.BRAINTRUST_API_KEY ?? "",
          apiUrl: parsed.BRAINTRUST_API_URL,
          project: parsed.BRAINTRUST_PROJECT,
        },
      }
      : {}),
  };
}

const serverSchema = z.object({
  KEEL_HTTP_HOST: z.string().min(1).max(255).default(defaultOf("KEEL_HTTP_HOST")),
  KEEL_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(
    Number(defaultOf("KEEL_HTTP_PORT")),
  ),
  KEEL_PUBLIC_READ: z.enum(["0", "1"]).default("0"),
  KEEL_ALLOWED_HOSTS: z.string().max(4000).optional(),
  KEEL_HTTP_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(
    Number(defaultOf("KEEL_HTTP_MAX_BODY_BYTES")),
  ),
  KEEL_HTTP_REQUEST_TIMEOUT_MS: timeoutMs.default(
    Number(defaultOf("KEEL_HTTP_REQUEST_TIMEOUT_MS")),
  ),
  KEEL_CORS_ORIGIN: z.url().optional(),
  KEEL_TEMPORAL_UI_URL: z.url().default(defaultOf("KEEL_TEMPORAL_UI_URL")),
});

/** Configuration of the HTTP API. */
export interface ServerConfig {
  /** Listen address. */
  readonly host: string;
  /** Listen port. */
  readonly port: number;
  /** The configured API tokens (hashes with names and scopes). */
  readonly tokens: readonly ApiToken[];
  /** Whether reads need no token (`KEEL_PUBLIC_READ=1`). */
  readonly publicRead: boolean;
  /** Host header values the server answers (`host` or `host:port`). */
  readonly allowedHosts: readonly string[];
  /** Largest accepted request body. */
  readonly maxBodyBytes: number;
  /** Milliseconds a request may take before it answers 503. */
  readonly requestTimeoutMs: number;
  /** The CORS origin, or undefined when CORS is off. */
  readonly corsOrigin: string | undefined;
  /** The Temporal UI base URL. */
  readonly temporalUiUrl: string;
}

/**
 * Parses `KEEL_API_TOKENS` (`name:scope+scope:sha256hex,...`); errors name the
 * bad entry and never echo a token or hash.
 */
export function parseApiTokens(text: string | undefined): ApiToken[] {
  try {
    return parseTokenList(text);
  } catch (error) {
    if (!(error instanceof TokenListError)) throw error;
    throw new ConfigError(
      `Invalid configuration:\n${error.problems.map((p) => `  KEEL_API_TOKENS: ${p}`).join("\n")}`,
      { cause: error },
    );
  }
}

function hostWithPort(host: string, port: number): string {
  return `${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`;
}

const mcpSchema = z.object({
  KEEL_MCP_URL: httpUrl.default(defaultOf("KEEL_MCP_URL")),
  KEEL_MCP_TOKEN: z.string().regex(
    /^\S{8,500}$/,
    "must be an API token (8 to 500 characters, no spaces)",
  ),
});

/** What `deno task mcp` forwards to, and as whom. */
export interface McpBridgeConfig {
  /** The API server's `/mcp` URL. */
  readonly url: URL;
  /** The agent's bearer token. */
  readonly token: string;
}

/** Parses the stdio bridge's configuration; an error never echoes the token. */
export function parseMcpBridgeConfig(env: EnvSnapshot): McpBridgeConfig {
  const result = mcpSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = issue.path.join(".");
      const shown = name === "KEEL_MCP_TOKEN" ? "" : `=${JSON.stringify(env[name] ?? "")}`;
      return `  ${name}${shown}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`, { cause: result.error });
  }
  return { url: new URL(result.data.KEEL_MCP_URL), token: result.data.KEEL_MCP_TOKEN };
}

/** Parses the HTTP API configuration. */
export function parseServerConfig(env: EnvSnapshot): ServerConfig {
  const { KEEL_API_TOKENS: tokens, ...rest } = env;
  const parsed = parseWith(serverSchema, rest);
  const allowedHosts = parsed.KEEL_ALLOWED_HOSTS === undefined
    ? [...new Set([parsed.KEEL_HTTP_HOST, "localhost", "127.0.0.1"])].map((h) =>
      hostWithPort(h, parsed.KEEL_HTTP_PORT)
    )
    : parsed.KEEL_ALLOWED_HOSTS.split(",").map((h) => h.trim().toLowerCase()).filter((h) =>
      h !== ""
    );
  return {
    host: parsed.KEEL_HTTP_HOST,
    port: parsed.KEEL_HTTP_PORT,
    tokens: parseApiTokens(tokens),
    publicRead: parsed.KEEL_PUBLIC_READ === "1",
    allowedHosts,
    maxBodyBytes: parsed.KEEL_HTTP_MAX_BODY_BYTES,
    requestTimeoutMs: parsed.KEEL_HTTP_REQUEST_TIMEOUT_MS,
    corsOrigin: parsed.KEEL_CORS_ORIGIN,
    temporalUiUrl: parsed.KEEL_TEMPORAL_UI_URL.replace(/\/$/, ""),
  };
}
