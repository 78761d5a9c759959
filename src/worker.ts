/**
 * `deno task worker`: the Temporal worker that hosts Keel's workflows and
 * activities. It loads the Temporal core bridge (a native addon), so it runs
 * with `--allow-ffi` and is treated as a trusted process.
 *
 * @module
 */
import { NativeConnection, Runtime, Worker } from "@temporalio/worker";
import {
  ARTIFACT_SECTION,
  ConfigError,
  DATABASE_SECTION,
  type DatabaseConfig,
  EVALUATION_SECTION,
  LOG_SECTION,
  namesOf,
  parseArtifactConfig,
  parseDatabaseConfig,
  parseDecisionKey,
  parseEvaluationConfig,
  parseProvidersConfig,
  parseTelemetryConfig,
  parseTemporalConfig,
  parseWebhookConfig,
  parseWorkerConfig,
  PROVIDERS_SECTION,
  readEnv,
  TELEMETRY_SECTION,
  TEMPORAL_SECTION,
  type TemporalConfig,
  WEBHOOK_SECTION,
  WORKER_SECTION,
} from "./config/mod.ts";
import { assertPermissions } from "./config/permissions.ts";
import { needsOf } from "./config/process_needs.ts";
import { EXIT } from "./errors/table.ts";
import { connect, redactUrl } from "./db/mod.ts";
import { Client } from "@temporalio/client";
import { type ActivityDeps, createActivities } from "./activities/mod.ts";
import { importDecisionKey } from "./auth/signing.ts";
import {
  BUILTIN_MODULES,
  createRegistry,
  createSandbox,
  hostPermissions,
} from "./execution/mod.ts";
import { evaluatorFrom } from "./evaluation/mod.ts";
import { startTelemetry } from "./telemetry/otel.ts";
import { loadPolicy } from "./policy/mod.ts";
import { createLlmProvider } from "./llm/mod.ts";
import { createEmbeddingsProvider } from "./embeddings/mod.ts";
import { anchorStoreFrom, artifactStorageFrom } from "./artifacts/mod.ts";
import type { reconcilerWorkflow } from "./workflows/reconciler/workflows.ts";
import type { notifierWorkflow } from "./workflows/notifier/workflows.ts";
import type { memoryIndexerWorkflow } from "./workflows/memory/workflows.ts";
import { createLogger } from "./telemetry/log.ts";
import { temporalLogger } from "./telemetry/temporal_log.ts";
import {
  tracingActivityInterceptor,
  tracingClientInterceptor,
  tracingSinks,
} from "./telemetry/temporal_tracing.ts";
import { loadWorkflowBundle } from "./workflow_bundle/mod.ts";

/** Thrown when the worker cannot reach the Temporal server. */
export class TemporalUnreachableError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TemporalUnreachableError";
  }
}

/** Connects to Temporal, naming the address in the error when it cannot. */
export async function connectTemporal(address: string): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({ address });
  } catch (cause) {
    throw new TemporalUnreachableError(
      `Cannot reach the Temporal server at "${address}": ${
        (cause as Error).message
      }. Start one (scripts/dev.sh does) or set TEMPORAL_ADDRESS.`,
      { cause },
    );
  }
}

/** A worker with the resources it owns. */
export interface RunningWorker {
  /** The Temporal worker. */
  readonly worker: Worker;
  /** Resolves when the worker has stopped and its resources are closed. */
  readonly done: Promise<void>;
  /** Asks the worker to drain in-flight tasks and stop. */
  shutdown(): void;
}

/** What {@linkcode startWorker} needs. */
export interface StartWorkerOptions extends ActivityDeps {
  /** Where and what to poll. */
  readonly temporal: TemporalConfig;
  /** Seconds between reconciler passes; no reconciler is started when absent. */
  readonly reconcileIntervalSeconds?: number;
  /** Seconds between memory indexing passes; started only with `memory` set. */
  readonly memoryIntervalSeconds?: number;
  /** Seconds between webhook delivery passes; no notifier is started when absent. */
  readonly notifyIntervalSeconds?: number;
  /**
   * Workflows kept in the worker's cache (0: none). A workflow beyond it,
   * such as a directive parked at the approval gate, is evicted and replayed
   * from its history when its next event arrives. Default: the SDK's, from the heap size.
   */
  readonly maxCachedWorkflows?: number;
}

/** The longest one workflow activation may run before the SDK fails its task (the SDK's default). */
export const ISOLATE_EXECUTION_TIMEOUT = "5 seconds";

/** The memory indexer's workflow id: one per task queue. */
export function memoryIndexerWorkflowId(taskQueue: string): string {
  return `keel-memory-indexer-${taskQueue}`;
}

/** The notifier's workflow id: one per task queue. */
export function notifierWorkflowId(taskQueue: string): string {
  return `keel-notifier-${taskQueue}`;
}

/** The reconciler's workflow id: one per task queue. */
export function reconcilerWorkflowId(taskQueue: string): string {
  return `keel-reconciler-${taskQueue}`;
}

/**
 * Loads the prebuilt workflow bundle (refusing a missing or stale one),
 * connects and starts polling.
 */
export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const workflowBundle = await loadWorkflowBundle();
  const connection = await connectTemporal(options.temporal.address);
  // The worker owns the sandbox: its ready module processes end with it.
  const sandbox = options.sandbox ?? createSandbox();
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection,
      namespace: options.temporal.namespace,
      taskQueue: options.temporal.taskQueue,
      workflowBundle,
      ...(options.maxCachedWorkflows === undefined
        ? {}
        : { maxCachedWorkflows: options.maxCachedWorkflows }),
      // Workflows run on the main thread, not in a worker thread: that thread is
      // a second V8 isolate with its own copy of the SDK and its protobufs,
      // about 58 MiB of resident memory idle (bench/memory.ts). The SDK names
      // this `debugMode`, which also lifts the 5 s limit on one activation
      // (deadlock detection); the SDK reads `isolateExecutionTimeout` from the
      // options (not in their type), so the limit is set again.
      debugMode: true,
      ...{ isolateExecutionTimeout: ISOLATE_EXECUTION_TIMEOUT },
      // On SIGINT/SIGTERM, in-flight activities get this long to finish before
      // they are cancelled; an unfinished one is retried by another worker.
      shutdownGraceTime: "30 seconds",
      activities: createActivities({ ...options, sandbox }),
      interceptors: {
        activity: [(ctx) => ({ inbound: tracingActivityInterceptor(ctx.info) })],
        client: { workflow: [tracingClientInterceptor()] },
      },
      sinks: tracingSinks(),
    });
  } catch (error) {
    await connection.close();
    await sandbox.close();
    throw error;
  }
  const done = worker.run().finally(async () => {
    await connection.close();
    await sandbox.close();
  });
  const client = new Client({
    connection,
    namespace: options.temporal.namespace,
    interceptors: { workflow: [tracingClientInterceptor()] },
  });
  if (options.notifyIntervalSeconds !== undefined) {
    await client.workflow.start<typeof notifierWorkflow>("notifierWorkflow", {
      workflowId: notifierWorkflowId(options.temporal.taskQueue),
      taskQueue: options.temporal.taskQueue,
      args: [{ intervalSeconds: options.notifyIntervalSeconds, batchSize: 20, passesPerRun: 100 }],
      workflowIdConflictPolicy: "USE_EXISTING",
    });
  }
  if (options.memory !== undefined && options.memoryIntervalSeconds !== undefined) {
    await client.workflow.start<typeof memoryIndexerWorkflow>("memoryIndexerWorkflow", {
      workflowId: memoryIndexerWorkflowId(options.temporal.taskQueue),
      taskQueue: options.temporal.taskQueue,
      args: [{
        intervalSeconds: options.memoryIntervalSeconds,
        batchSize: 20,
        passesPerRun: 100,
        after: "0",
      }],
      workflowIdConflictPolicy: "USE_EXISTING",
    });
  }
  if (options.reconcileIntervalSeconds !== undefined) {
    await client.workflow.start<typeof reconcilerWorkflow>("reconcilerWorkflow", {
      workflowId: reconcilerWorkflowId(options.temporal.taskQueue),
      taskQueue: options.temporal.taskQueue,
      args: [{
        intervalSeconds: options.reconcileIntervalSeconds,
        batchSize: 100,
        passesPerRun: 50,
      }],
      workflowIdConflictPolicy: "USE_EXISTING",
    });
  }
  options.log.info("worker polling", {
    address: options.temporal.address,
    namespace: options.temporal.namespace,
    task_queue: options.temporal.taskQueue,
  });
  return {
    worker,
    done,
    shutdown() {
      // A second signal while draining must not throw.
      if (worker.getState() === "RUNNING") worker.shutdown();
    },
  };
}

/** The variables the worker reads; its env allow-list names them. */
const WORKER_ENV = [
  ...namesOf(
    DATABASE_SECTION,
    LOG_SECTION,
    TEMPORAL_SECTION,
    WORKER_SECTION,
    WEBHOOK_SECTION,
    PROVIDERS_SECTION,
    ARTIFACT_SECTION,
    EVALUATION_SECTION,
    TELEMETRY_SECTION,
  ),
  "KEEL_DECISION_KEY",
  "HOME",
  "DENO_DIR",
];

/** What a module's Deno process needs to find its cache: nothing else is passed on. */
function denoEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["HOME", "DENO_DIR"]) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Reads the configuration from the environment, runs the worker until a signal drains it. */
export async function main(): Promise<void> {
  const env = readEnv(WORKER_ENV, (name) => Deno.env.get(name));
  const database: DatabaseConfig = parseDatabaseConfig(env);
  const temporal = parseTemporalConfig(env);
  const settings = parseWorkerConfig(env);
  const decisionSecret = parseDecisionKey(env);
  const providers = parseProvidersConfig(env);
  const artifactConfig = parseArtifactConfig(env);
  const evaluation = parseEvaluationConfig(env);
  const webhooks = parseWebhookConfig(env);
  // Refused now, naming the variable, rather than at the first large artifact.
  await assertPermissions(needsOf("worker", env), "worker");
  const telemetry = startTelemetry(parseTelemetryConfig(env, "keel-worker"));
  const log = createLogger({ level: database.logLevel, service: "keel-worker" });
  Runtime.install({ logger: temporalLogger(log), shutdownSignals: [] });
  const policy = await loadPolicy(settings.policyFile);
  const sql = connect(database.databaseUrl, {
    applicationName: "keel-worker",
    max: database.poolMax ?? 10,
  });
  let running: RunningWorker;
  try {
    running = await startWorker({
      temporal,
      sql,
      log,
      policy,
      // Refuses a module that declares more than this process holds.
      registry: createRegistry(BUILTIN_MODULES, { held: hostPermissions }),
      sandbox: createSandbox({
        baseEnv: denoEnv(env),
        lookupEnv: (name) => Deno.env.get(name),
      }),
      evaluator: evaluatorFrom(evaluation),
      evaluationTimeoutMs: evaluation.timeoutMs,
      maxAttempts: settings.maxAttempts,
      llm: createLlmProvider(providers.llm),
      // Completed directives are remembered only when an embeddings provider is configured.
      ...(providers.embeddings.kind === "noop" ? {} : {
        memory: {
          embeddings: createEmbeddingsProvider(providers.embeddings),
          model: providers.embeddings.model,
        },
        memoryIntervalSeconds: 5,
      }),
      artifacts: artifactStorageFrom(artifactConfig),
      anchors: anchorStoreFrom(artifactConfig),
      reconcileIntervalSeconds: settings.reconcileIntervalSeconds,
      maxCachedWorkflows: settings.maxCachedWorkflows,
      notifyIntervalSeconds: webhooks.intervalSeconds,
      webhooks,
      decisionKey: decisionSecret === undefined
        ? undefined
        : await importDecisionKey(decisionSecret),
    });
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw error;
  }
  log.info("worker ready and idle", {
    database: redactUrl(database.databaseUrl),
    policy: `${policy.name}@${policy.version}`,
    llm_provider: providers.llm.kind,
    artifact_store: artifactConfig.kind === "fs"
      ? `fs:${artifactConfig.dir}`
      : `s3:${artifactConfig.endpoint}/${artifactConfig.bucket}`,
    embeddings_provider: providers.embeddings.kind,
    evaluator: evaluation.kind,
    telemetry: telemetry.enabled ? "otlp" : "off",
    decisions: decisionSecret === undefined
      ? "refused: no KEEL_DECISION_KEY, so no signed decision can be verified"
      : "signed",
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      log.info("draining in-flight tasks before exit", { signal });
      running.shutdown();
    });
  }
  await running.done;
  await sql.end({ timeout: 5 });
  await telemetry.shutdown();
  log.info("worker stopped");
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(`worker: ${(error as Error).message}`);
    Deno.exit(error instanceof ConfigError ? EXIT.usage : 1);
  }
}
