/**
 * Which configured resources each long-running process uses, so its entry
 * point (at start-up) and its launcher (`deno task permissions`) derive the
 * same permission needs from the same variables.
 *
 * @module
 */
import { ARTIFACT_ENV, parseArtifactConfig } from "./artifacts.ts";
import { type EnvSnapshot, namesOf } from "./_env.ts";
import { parseDatabaseConfig, parseMigrationConfig } from "./database.ts";
import { type Need, permissionNeeds } from "./permissions.ts";
import { parseEvaluationConfig, parseProvidersConfig, PROVIDERS_SECTION } from "./providers.ts";
import { parseTelemetryConfig } from "./telemetry.ts";
import { parseTemporalConfig } from "./temporal.ts";

/** The processes whose permissions follow the configuration (their deno.json set names). */
export const CONFIGURED_PROCESSES = ["worker", "server", "prune"] as const;

/** One of {@linkcode CONFIGURED_PROCESSES}. */
export type ConfiguredProcess = (typeof CONFIGURED_PROCESSES)[number];

const ARTIFACT_NAMES = ARTIFACT_ENV.filter((name) => name !== "KEEL_S3_SECRET_ACCESS_KEY");

/** The variables {@linkcode needsOf} reads for a process (secrets excluded). */
export const NEEDS_ENV: Readonly<Record<ConfiguredProcess, readonly string[]>> = {
  worker: [
    "DATABASE_URL",
    "TEMPORAL_ADDRESS",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    ...namesOf(PROVIDERS_SECTION).filter((name) => !name.endsWith("_API_KEY")),
    "KEEL_EVALUATOR",
    "BRAINTRUST_API_URL",
    ...ARTIFACT_NAMES,
  ],
  server: [
    "DATABASE_URL",
    "TEMPORAL_ADDRESS",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "KEEL_EMBEDDINGS_PROVIDER",
    "OPENAI_BASE_URL",
    ...ARTIFACT_NAMES,
  ],
  prune: ["MIGRATION_DATABASE_URL", "DATABASE_URL", ...ARTIFACT_NAMES],
};

// Only which provider or store is chosen and its URL matter here: the process checks its secrets.
const KEYS_CHECKED_ELSEWHERE = {
  KEEL_S3_SECRET_ACCESS_KEY: "checked-by-the-process",
  ANTHROPIC_API_KEY: "checked-by-the-process",
  OPENAI_API_KEY: "checked-by-the-process",
  BRAINTRUST_API_KEY: "checked-by-the-process",
};

/** What `process` needs of its permissions under `env`. Throws ConfigError on a bad value. */
export function needsOf(process: ConfiguredProcess, env: EnvSnapshot): Need[] {
  const artifacts = parseArtifactConfig({ ...env, ...KEYS_CHECKED_ELSEWHERE });
  if (process === "prune") {
    return permissionNeeds({
      artifacts: { config: artifacts, write: true },
      database: {
        variable: env.MIGRATION_DATABASE_URL === undefined && env.DATABASE_URL !== undefined
          ? "DATABASE_URL"
          : "MIGRATION_DATABASE_URL",
        url: parseMigrationConfig(env).migrationDatabaseUrl,
      },
    });
  }
  const providers = parseProvidersConfig({ ...env, ...KEYS_CHECKED_ELSEWHERE });
  const serviceUrls: Record<string, string> = {};
  if (providers.embeddings.kind === "openai") {
    serviceUrls.OPENAI_BASE_URL = providers.embeddings.baseUrl;
  }
  if (process === "worker") {
    if (providers.llm.kind === "anthropic") serviceUrls.ANTHROPIC_BASE_URL = providers.llm.baseUrl;
    const evaluation = parseEvaluationConfig({ ...env, ...KEYS_CHECKED_ELSEWHERE });
    if (evaluation.braintrust) serviceUrls.BRAINTRUST_API_URL = evaluation.braintrust.apiUrl;
  }
  return permissionNeeds({
    artifacts: { config: artifacts, write: process === "worker" },
    database: { variable: "DATABASE_URL", url: parseDatabaseConfig(env).databaseUrl },
    temporalAddress: parseTemporalConfig(env).address,
    otlpEndpoint: parseTelemetryConfig(env, process).endpoint,
    serviceUrls,
  });
}
