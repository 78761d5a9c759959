/**
 * A running control loop for tests: a real dev server, a migrated database,
 * and a worker in this process with a test policy (short approval timeout).
 */
import { Client } from "@temporalio/client";
import { NativeConnection } from "@temporalio/worker";
import { connect, type Sql } from "../src/db/mod.ts";
import {
  BUILTIN_MODULES,
  createRegistry,
  createSandbox,
  type ExecutionModule,
} from "../src/execution/mod.ts";
import { defaultEvaluator, type Evaluator } from "../src/evaluation/mod.ts";
import type { EmbeddingsProvider } from "../src/embeddings/mod.ts";
import { type LoopTarget } from "../src/loop/mod.ts";
import { parsePolicy, type PolicyConfig } from "../src/policy/mod.ts";
import { createLogger, type Logger } from "../src/telemetry/log.ts";
import { tracingClientInterceptor } from "../src/telemetry/temporal_tracing.ts";
import {
  type AnchorStore,
  type ArtifactStorage,
  createFsStore,
  DEFAULT_ARTIFACT_MAX_BYTES,
} from "../src/artifacts/mod.ts";
import { type RunningWorker, startWorker } from "../src/worker.ts";
import { createMigratedDatabase, type TestDatabase } from "./_db.ts";
import { type DevServer, startDevServer } from "./_temporal.ts";
import { prebuiltBundle } from "./_bundle.ts";
import { testDecisionKey, testSigner } from "./_decisions.ts";

/** The repository's root, which policy file paths are relative to. */
const ROOT = new URL("../", import.meta.url);

/** The policy file loop tests use unless told otherwise. */
export const DEFAULT_POLICY_FILE = "policies/default.json";

/**
 * A policy file (by default `policies/default.json`; a path relative to the
 * repository's root) with a short approval timeout for tests, then
 * `overrides` on top.
 */
export async function testPolicy(
  overrides: Record<string, unknown> = {},
  policyFile: string = DEFAULT_POLICY_FILE,
): Promise<PolicyConfig> {
  const base = JSON.parse(await Deno.readTextFile(new URL(policyFile, ROOT)));
  return parsePolicy(
    { ...base, approval_timeout_seconds: 20, ...overrides },
    `test policy from ${policyFile}`,
  );
}

/** Everything a loop test needs. */
export interface LoopHarness {
  /** The Temporal server: a dev server of its own, or the one it was given. */
  readonly server: Pick<DevServer, "address" | "stop">;
  /** The database. */
  readonly db: TestDatabase;
  /** An app-role pool for assertions. */
  readonly sql: Sql;
  /** A client on its own native connection. */
  readonly client: Client;
  /** Where loops run. */
  readonly target: LoopTarget;
  /** Where the worker stores artifact bodies. */
  readonly artifacts: ArtifactStorage;
  /** The in-process worker, when one runs. */
  worker: RunningWorker | undefined;
  /** Starts the in-process worker (when started with `noWorker`). */
  startWorker(): Promise<void>;
  /** Stops everything. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startLoopHarness}. */
export interface LoopHarnessOptions {
  /**
   * The policy file the worker loads, relative to the repository's root
   * (default `policies/default.json`): a fork's module is tested under the
   * fork's policy, e.g. `{ policyFile: "policies/fork.json" }`.
   */
  readonly policyFile?: string;
  /** Policy overrides, applied on top of the policy file. */
  readonly policy?: Record<string, unknown>;
  /** The evaluator (default: the real default evaluator). */
  readonly evaluator?: Evaluator;
  /** Start the reconciler with this interval. */
  readonly reconcileIntervalSeconds?: number;
  /** Execution attempts. */
  readonly maxAttempts?: number;
  /** Do not start a worker. */
  readonly noWorker?: boolean;
  /** Execution modules (default: the built-in ones). */
  readonly modules?: readonly ExecutionModule[];
  /** Artifact storage (default: a filesystem store in a temporary directory). */
  readonly artifacts?: ArtifactStorage;
  /** Where the reconciler anchors the ledger (default: none, nothing is anchored). */
  readonly anchors?: AnchorStore;
  /** The worker's logger (default: warnings and errors to stderr). */
  readonly log?: Logger;
  /** Milliseconds an evaluator may take. */
  readonly evaluationTimeoutMs?: number;
  /** Remember completed directives with this provider and model (the indexer runs every second). */
  readonly memory?: { readonly embeddings: EmbeddingsProvider; readonly model: string };
  /** What a module that declares env names reads (as the worker passes its own env on). */
  readonly moduleEnv?: Readonly<Record<string, string>>;
  /** Workflows the worker keeps cached (default: the SDK's). */
  readonly maxCachedWorkflows?: number;
  /**
   * A running Temporal server to use (host:port) instead of a new dev server,
   * e.g. the cluster's PostgreSQL-backed one; its namespace `default` must exist.
   */
  readonly temporalAddress?: string;
}

/** Starts a dev server, a database and (unless told not to) a worker. */
export async function startLoopHarness(options: LoopHarnessOptions = {}): Promise<LoopHarness> {
  const server: LoopHarness["server"] = options.temporalAddress === undefined
    ? await startDevServer()
    : { address: options.temporalAddress, stop: () => Promise.resolve() };
  const db = await createMigratedDatabase();
  const sql = connect(db.appUrl, { max: 4 });
  const connection = await NativeConnection.connect({ address: server.address });
  const client = new Client({
    connection,
    interceptors: { workflow: [tracingClientInterceptor(), await testSigner()] },
  });
  const decisionKey = await testDecisionKey();
  const taskQueue = `loop-${crypto.randomUUID()}`;
  const maxAttempts = options.maxAttempts ?? 2;
  const policy = await testPolicy(options.policy, options.policyFile);
  const log = options.log ?? createLogger({ level: "warn", service: "test-worker" });
  const artifacts = options.artifacts ?? {
    store: createFsStore({ dir: await Deno.makeTempDir({ prefix: "keel-artifacts-" }) }),
    maxBytes: DEFAULT_ARTIFACT_MAX_BYTES,
  };
  const launch = async () => {
    await prebuiltBundle();
    return await startWorker({
      temporal: { address: server.address, namespace: "default", taskQueue },
      sql,
      log,
      policy,
      registry: createRegistry(options.modules ?? BUILTIN_MODULES),
      ...(options.moduleEnv === undefined ? {} : {
        sandbox: createSandbox({ lookupEnv: (name) => options.moduleEnv?.[name] }),
      }),
      ...(options.memory === undefined ? {} : { memory: options.memory, memoryIntervalSeconds: 1 }),
      evaluator: options.evaluator ?? defaultEvaluator,
      maxAttempts,
      artifacts,
      decisionKey,
      ...(options.anchors === undefined ? {} : { anchors: options.anchors }),
      ...(options.evaluationTimeoutMs === undefined
        ? {}
        : { evaluationTimeoutMs: options.evaluationTimeoutMs }),
      ...(options.reconcileIntervalSeconds === undefined
        ? {}
        : { reconcileIntervalSeconds: options.reconcileIntervalSeconds }),
      ...(options.maxCachedWorkflows === undefined
        ? {}
        : { maxCachedWorkflows: options.maxCachedWorkflows }),
    });
  };
  const harness: LoopHarness = {
    server,
    db,
    sql,
    client,
    target: { client, taskQueue, maxAttempts },
    artifacts,
    worker: undefined,
    async startWorker() {
      harness.worker = await launch();
    },
    async stop() {
      if (harness.worker) {
        harness.worker.shutdown();
        await harness.worker.done;
      }
      await connection.close();
      await sql.end({ timeout: 5 });
      await db.drop();
      await server.stop();
    },
  };
  if (!options.noWorker) await harness.startWorker();
  return harness;
}

/** Polls `probe` every 100 ms until it returns a truthy value, for up to `ms`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined | null | false>,
  what: string,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (true) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The ledger of a directive as `from>to` strings. */
export async function ledgerOf(sql: Sql, directiveId: string): Promise<string[]> {
  const rows = await sql<{ from_status: string | null; to_status: string }[]>`
    SELECT from_status, to_status FROM directive_transitions
     WHERE directive_id = ${directiveId} ORDER BY id`;
  return rows.map((row) => `${row.from_status ?? "∅"}>${row.to_status}`);
}

/** The runs of a directive. */
export async function runsOf(
  sql: Sql,
  directiveId: string,
): Promise<{ attempt: number; status: string; outcome: string | null; message: string | null }[]> {
  return [
    ...await sql<
      { attempt: number; status: string; outcome: string | null; message: string | null }[]
    >`
      SELECT attempt, status, outcome, message FROM execution_runs
       WHERE directive_id = ${directiveId} ORDER BY attempt`,
  ];
}

/**
 * A test that runs `fn` against its own loop harness, stopped afterwards.
 * `options` choose the policy file, the modules and the rest
 * ({@linkcode LoopHarnessOptions}).
 *
 * @example A fork's module under the fork's policy
 * ```ts
 * loopTest("word_count completes", async (h) => {
 *   // submit, startLoop(h.target, id), waitForLoop(h.client, id), assert on h.sql
 * }, { policyFile: "policies/fork.json" });
 * ```
 */
export function loopTest(
  name: string,
  fn: (h: LoopHarness) => Promise<void>,
  options: LoopHarnessOptions = {},
): void {
  Deno.test({
    name,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const harness = await startLoopHarness(options);
      try {
        await fn(harness);
      } finally {
        await harness.stop();
      }
    },
  });
}
