/**
 * Configuration: every environment variable Keel reads, declared once in a
 * section (name, zod type, default, description) and parsed with zod at an
 * entry point, which passes the result inward. No other module reads the
 * environment. `.env.example` and `docs/configuration.md` are generated from
 * the sections (`deno task env:example`); `deno task validate` fails when they
 * differ.
 *
 * | file | sections |
 * | --- | --- |
 * | `database.ts` | database, migrations, logging |
 * | `temporal.ts` | Temporal |
 * | `worker.ts` | worker, decisions, webhooks |
 * | `providers.ts` | model providers, evaluation |
 * | `artifacts.ts` | artifacts |
 * | `telemetry.ts` | telemetry (`OTEL_*`) |
 * | `server.ts` | HTTP API, MCP bridge |
 * | `scripts.ts` | variables only the scripts, or only compose, read |
 * | `permissions.ts` | what the configuration needs of a process's permissions |
 *
 * @module
 */
import type { EnvSection } from "./_env.ts";
import { ARTIFACT_SECTION } from "./artifacts.ts";
import { DATABASE_SECTION, LOG_SECTION, MIGRATION_SECTION } from "./database.ts";
import type { ExampleSection } from "./env_example.ts";
import { EVALUATION_SECTION, PROVIDERS_SECTION } from "./providers.ts";
import { COMPOSE_SECTION, SCRIPTS_SECTION } from "./scripts.ts";
import { MCP_SECTION, SERVER_SECTION } from "./server.ts";
import { TELEMETRY_SECTION } from "./telemetry.ts";
import { TEMPORAL_SECTION } from "./temporal.ts";
import { DECISION_SECTION, WEBHOOK_SECTION, WORKER_SECTION } from "./worker.ts";

export {
  ConfigError,
  type EnvDoc,
  type EnvSection,
  envSection,
  type EnvSnapshot,
  envVar,
  namesOf,
  parseSections,
  readEnv,
} from "./_env.ts";
export * from "./artifacts.ts";
export * from "./database.ts";
export * from "./providers.ts";
export * from "./server.ts";
export * from "./telemetry.ts";
export * from "./temporal.ts";
export * from "./worker.ts";
export { COMPOSE_SECTION, SCRIPTS_SECTION } from "./scripts.ts";

/** The sections the TypeScript code reads, in the order they are documented. */
export const CONFIG_SECTIONS: readonly EnvSection[] = [
  DATABASE_SECTION,
  MIGRATION_SECTION,
  TEMPORAL_SECTION,
  WORKER_SECTION,
  DECISION_SECTION,
  LOG_SECTION,
  PROVIDERS_SECTION,
  ARTIFACT_SECTION,
  TELEMETRY_SECTION,
  EVALUATION_SECTION,
  SERVER_SECTION,
  WEBHOOK_SECTION,
  MCP_SECTION,
];

/**
 * What `.env.example` and `docs/configuration.md` show: the code's sections, then the scripts'
 * and compose's (commented out: nothing in `src/` reads them).
 */
export const EXAMPLE_SECTIONS: readonly ExampleSection[] = [
  ...CONFIG_SECTIONS.map((section) => ({ section })),
  { section: SCRIPTS_SECTION, commented: true },
  { section: COMPOSE_SECTION, commented: true },
];

/** One documented environment variable. */
export interface DocumentedVar {
  /** The variable's name. */
  readonly name: string;
  /** What it configures. */
  readonly description: string;
  /** The value used when it is unset, if any. */
  readonly default?: string;
}

/** Every environment variable the TypeScript code reads, derived from {@linkcode CONFIG_SECTIONS}. */
export const ENV_VARS: readonly DocumentedVar[] = CONFIG_SECTIONS.flatMap((section) =>
  Object.entries(section.vars).map(([name, v]) => ({
    name,
    description: v.description,
    ...(v.default === undefined ? {} : { default: v.default }),
  }))
);
