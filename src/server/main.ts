/**
 * `deno task serve`: the HTTP API and dashboard. Uses a NativeConnection to
 * Temporal because grpc-js aborts a long-lived Deno process on server GOAWAY;
 * that is why the `server` permission set allows ffi.
 *
 * @module
 */
import { Client } from "@temporalio/client";
import { NativeConnection } from "@temporalio/worker";
import { createDirectiveSchema } from "../models/mod.ts";
import { BUILTIN_MODULES, createRegistry } from "../execution/registry.ts";
import { connect } from "../db/mod.ts";
import {
  ARTIFACT_SECTION,
  ConfigError,
  DATABASE_SECTION,
  LOG_SECTION,
  namesOf,
  parseArtifactConfig,
  parseDatabaseConfig,
  parseDecisionKey,
  parseProvidersConfig,
  parseServerConfig,
  parseTelemetryConfig,
  parseTemporalConfig,
  parseWorkerConfig,
  readEnv,
  SERVER_SECTION,
  TELEMETRY_SECTION,
  TEMPORAL_SECTION,
} from "../config/mod.ts";
import { assertPermissions } from "../config/permissions.ts";
import { needsOf } from "../config/process_needs.ts";
import { createHandler } from "./app.ts";
import { EXIT } from "../errors/table.ts";
import { createChangeFeed } from "../directives/feed.ts";
import { createEmbeddingsProvider } from "../embeddings/mod.ts";
import { loadPolicy, type PolicyConfig } from "../policy/mod.ts";
import { artifactStorageFrom } from "../artifacts/mod.ts";
import { startTelemetry } from "../telemetry/otel.ts";
import { tracingClientInterceptor } from "../telemetry/temporal_tracing.ts";
import { importDecisionKey } from "../auth/signing.ts";
import { signingInterceptor } from "../auth/signing_interceptor.ts";

const NAMES = [
  ...namesOf(
    DATABASE_SECTION,
    LOG_SECTION,
    TEMPORAL_SECTION,
    SERVER_SECTION,
    ARTIFACT_SECTION,
    TELEMETRY_SECTION,
  ),
  "KEEL_MAX_EXECUTION_ATTEMPTS",
  "KEEL_DECISION_KEY",
  "KEEL_POLICY_FILE",
  // Memory searches embed their query with the worker's embeddings provider.
  "KEEL_EMBEDDINGS_PROVIDER",
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "KEEL_EMBEDDINGS_TIMEOUT_MS",
  "KEEL_EMBEDDINGS_MODEL",
];

async function main(): Promise<void> {
  const env = readEnv(NAMES, (name) => Deno.env.get(name));
  const database = parseDatabaseConfig(env);
  const temporal = parseTemporalConfig(env);
  const server = parseServerConfig(env);
  const maxAttempts = parseWorkerConfig(env).maxAttempts;
  const artifacts = artifactStorageFrom(parseArtifactConfig(env));
  await assertPermissions(needsOf("server", env), "server");
  const telemetry = startTelemetry(parseTelemetryConfig(env, "keel-server"));
  const sql = connect(database.databaseUrl, {
    max: database.poolMax ?? 8,
    applicationName: "keel-server",
  });
  const connection = await NativeConnection.connect({ address: temporal.address });
  const secret = parseDecisionKey(env);
  const client = new Client({
    connection,
    namespace: temporal.namespace,
    interceptors: {
      workflow: [
        tracingClientInterceptor(),
        // Decisions sent through the API are signed; without a key the worker refuses them.
        ...(secret === undefined ? [] : [signingInterceptor(await importDecisionKey(secret))]),
      ],
    },
  });
  const registry = createRegistry(BUILTIN_MODULES);
  const policy = await activePolicy(parseWorkerConfig(env).policyFile);
  const feed = createChangeFeed(sql);
  const embeddings = parseProvidersConfig(env).embeddings;
  const handler = createHandler({
    sql,
    feed,
    policy,
    moduleOf: (type) => registry.find(type),
    target: { client, taskQueue: temporal.taskQueue, maxAttempts },
    schema: createDirectiveSchema({ moduleTypes: registry.types() }),
    tokens: server.tokens,
    publicRead: server.publicRead,
    allowedHosts: server.allowedHosts,
    maxBodyBytes: server.maxBodyBytes,
    requestTimeoutMs: server.requestTimeoutMs,
    // An Update must end before the request does.
    updateDeadlineMs: Math.max(1000, server.requestTimeoutMs - 5000),
    corsOrigin: server.corsOrigin,
    temporalUiUrl: server.temporalUiUrl,
    artifacts,
    // Memory searches go by meaning when the worker remembers with embeddings.
    ...(embeddings.kind === "noop" ? {} : {
      memory: { embeddings: createEmbeddingsProvider(embeddings), model: embeddings.model },
    }),
    // Agents reach the same loop over MCP at /mcp.
    mcp: {
      moduleTypes: registry.types(),
      examplesDir: new URL("../../examples/directives/", import.meta.url),
    },
  });
  const http = Deno.serve({
    hostname: server.host,
    port: server.port,
    onListen: ({ hostname, port }) =>
      console.log(
        `keel server on http://${hostname}:${port} (${server.tokens.length} token(s)${
          server.publicRead ? ", public reads" : ""
        })`,
      ),
  }, handler);
  // Open event streams end first, or shutdown would wait on them.
  const stop = () => {
    feed.close();
    void http.shutdown();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await http.finished;
  await connection.close();
  await sql.end({ timeout: 5 });
  await telemetry.shutdown();
}

/** The policy the what-if route compares against; a server without one still serves the rest. */
async function activePolicy(file: string): Promise<PolicyConfig | undefined> {
  try {
    return await loadPolicy(file);
  } catch (error) {
    console.error(
      `keel server: no active policy for POST /api/policy/what-if: ${(error as Error).message}`,
    );
    return undefined;
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`keel server: ${error.message}`);
    Deno.exit(EXIT.usage);
  }
}
