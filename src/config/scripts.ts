/**
 * Variables read only by the shell scripts and the test harness, never by
 * `src/`: documented here so `.env.example` and `docs/configuration.md` list
 * them from the same place as the rest. Nothing parses them in TypeScript.
 *
 * @module
 */
import { z } from "zod";
import { envSection, envVar } from "./_env.ts";

const text = z.string();

/** The scripts' variables (shown commented out in `.env.example`). */
export const SCRIPTS_SECTION = envSection({
  title:
    "Read by the scripts (scripts/*.sh, tests/_db.ts, tests/_temporal.ts, tests/_s3.ts, tests/_compose.ts)",
  vars: {
    KEEL_CACHE_DIR: envVar(text, {
      default: "~/.cache/keel",
      description: "Where bootstrap caches Deno and the Temporal CLI (outside the checkout).",
    }),
    KEEL_SKIP_POSTGRES: envVar(text, {
      default: "0",
      description: "Set to 1 to stop bootstrap from checking or starting the system PostgreSQL.",
    }),
    KEEL_TEMPORAL_PORT: envVar(text, {
      default: "7233",
      description: "Port of the Temporal dev server that scripts/dev.sh starts when " +
        "TEMPORAL_ADDRESS is unset.",
    }),
    KEEL_TEMPORAL_UI_PORT: envVar(text, {
      default: "8233",
      description: "Port of that dev server's UI.",
    }),
    KEEL_LOCAL_DB: envVar(text, {
      default: "auto",
      description: "The project-local database scripts/dev.sh uses without DATABASE_URL: auto " +
        "(PostgreSQL when its server binaries are installed, else embedded PGlite), postgres or " +
        "pglite.",
    }),
    KEEL_PG_PORT: envVar(text, {
      default: "54329",
      description: "Port of the project-local database (.data/pg or .data/pglite) scripts/dev.sh " +
        "runs without DATABASE_URL.",
    }),
    KEEL_DEMO: envVar(text, {
      default: "1",
      description: "Set to 0 to skip the demo directive that scripts/dev.sh runs once everything " +
        "is up.",
    }),
    KEEL_TEST_DATABASE_URL: envVar(text, {
      default: "postgres://postgres@127.0.0.1:5432/postgres",
      description: "Admin URL the tests use to create and drop their own databases.",
    }),
    KEEL_TEMPORAL_BIN: envVar(text, {
      default: "temporal",
      description: "Temporal CLI the tests start (default: the bootstrap cache, then PATH).",
    }),
    KEEL_VERSITYGW_BIN: envVar(text, {
      default: "versitygw",
      description: "versitygw, the S3-compatible server the artifact tests start (default: the " +
        "bootstrap cache).",
    }),
    KEEL_COMPOSE_CHECK_BIN: envVar(text, {
      default: "keel-compose-check",
      description: "The compose-go checker tests/compose_test.ts runs (default: the bootstrap " +
        "cache, built from tools/compose_check).",
    }),
    KEEL_CLUSTER_DIR: envVar(text, {
      default: ".data/cluster",
      description: "State of scripts/cluster.sh: configuration, logs, secrets and cluster.json " +
        "(docs/deploy.md).",
    }),
    KEEL_CLUSTER_WORKERS: envVar(text, {
      default: "2",
      description: "Worker processes scripts/cluster.sh starts, 1 to 99.",
    }),
    KEEL_CLUSTER_PORT_BASE: envVar(text, {
      default: "17200",
      description: "First of the ports scripts/cluster.sh uses (base to base+21), 1024 to 32700: " +
        "Temporal keeps its membership ports as a smallint.",
    }),
    KEEL_CLUSTER_DB_PREFIX: envVar(text, {
      default: "keel_cluster_",
      description: "Prefix of the cluster's three databases and of its Temporal role.",
    }),
    KEEL_CLUSTER_PG_URL: envVar(text, {
      default: "postgres://postgres@127.0.0.1:5432/postgres",
      description: "Superuser URL scripts/cluster.sh creates its roles and databases with, and " +
        "nothing else.",
    }),
    KEEL_CLUSTER_HISTORY_SHARDS: envVar(text, {
      default: "4",
      description: "Temporal history shards of the cluster, fixed when its database is created.",
    }),
  },
});

/**
 * The passwords only `docker-compose.yml` (and `deploy/postgres/init.sh`, which the postgres
 * container runs) read: required there, with no default (docs/running.md, "In containers").
 */
export const COMPOSE_SECTION = envSection({
  title: "Read by docker-compose.yml only (required there; keep them URL-safe)",
  intro:
    "Compose refuses to start until each is set, in the environment or in a .env file beside " +
    "the compose file. They go into connection URLs: `openssl rand -hex 24` makes one.",
  vars: {
    POSTGRES_PASSWORD: envVar(text, {
      description: "The postgres superuser's password; only the migrate service logs in with it.",
    }),
    KEEL_APP_PASSWORD: envVar(text, {
      description:
        "The keel_app role's password (deploy/postgres/init.sh sets it; the worker and " +
        "the API log in with it).",
    }),
    TEMPORAL_DB_PASSWORD: envVar(text, {
      description: "The temporal role's password; that role owns Temporal's databases.",
    }),
  },
});
