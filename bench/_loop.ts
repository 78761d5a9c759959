/**
 * Loop measurements on one harness (dev server, migrated database, in-process
 * worker): Keel's end-to-end throughput beside bare-Temporal workflows (one
 * no-op activity, and as many as Keel schedules), the Postgres cost of a
 * directive, and the histories it leaves.
 *
 * @module
 */
import { historyToJSON } from "@temporalio/common/lib/proto-utils.js";
import { bundleWorkflowCode, NativeConnection, Worker } from "@temporalio/worker";
import type { Client } from "@temporalio/client";
import type { Sql } from "../src/db/mod.ts";
import { connect } from "../src/db/mod.ts";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import type { DirectiveSchema } from "../src/models/mod.ts";
import { directiveWorkflowId } from "../src/workflows/directive/api.ts";
import { confineBundler } from "../src/workflow_bundle/build.ts";
import { adminUrl } from "../tests/_db.ts";
import { echoDocument } from "../tests/_directives.ts";
import type { LoopHarness } from "../tests/_loop.ts";
import { createBareActivities } from "./bare/activities.ts";
import type { bareWorkflow } from "./bare/workflows.ts";
import { percentile } from "./_stats.ts";

/** A noop directive: the type the default policy auto-approves. */
export function noopDocument(): Record<string, unknown> {
  return echoDocument({ type: "noop", budget: { amount: "0.50", currency: "USD" }, payload: {} });
}

/** One timed batch. */
export interface BatchResult {
  /** Completed items per second over the batch's wall time. */
  readonly perSecond: number;
  /** Median latency of one item, ms. */
  readonly p50Ms: number;
  /** 95th-percentile latency, ms. */
  readonly p95Ms: number;
}

/** Runs `total` items with at most `concurrency` in flight and times each. */
export async function timedBatch(
  total: number,
  options: { concurrency: number; item: (index: number) => Promise<void> },
): Promise<BatchResult> {
  const latencies: number[] = [];
  let next = 0;
  const lane = async () => {
    while (next < total) {
      const index = next++;
      const start = performance.now();
      await options.item(index);
      latencies.push(performance.now() - start);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(options.concurrency, total) }, lane));
  const wallMs = performance.now() - start;
  return {
    perSecond: total / (wallMs / 1000),
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
  };
}

/** Submits a noop directive, runs its loop to the end and checks it completed. */
export async function runOneDirective(h: LoopHarness, schema: DirectiveSchema): Promise<string> {
  const submitted = await submitAndStart(h.sql, h.target, { document: noopDocument(), schema });
  if (submitted.startError) {
    throw new Error(
      `Starting the loop of ${submitted.directive.id} failed: ${submitted.startError}`,
    );
  }
  const result = await waitForLoop(h.client, submitted.directive.id);
  if (result.status !== "complete") {
    throw new Error(`Directive ${result.directiveId} ended "${result.status}": ${result.reason}`);
  }
  return submitted.directive.id;
}

/** What one directive leaves in Temporal, summed over every workflow it creates. */
export interface HistoryFootprint {
  /** Workflows: the loop and every child it (or a child) started. */
  readonly workflows: number;
  /** Events across them. */
  readonly events: number;
  /** Regular activities scheduled across them. */
  readonly activities: number;
  /** Local activities recorded across them (as markers). */
  readonly localActivities: number;
  /** Bytes of their histories as JSON. */
  readonly jsonBytes: number;
}

/**
 * Fetches the histories of a finished directive's loop and of every child
 * workflow started from it, found in the histories themselves (so whatever
 * workflows the loop creates are counted), and sums them.
 */
export async function historyFootprint(
  h: LoopHarness,
  directiveId: string,
): Promise<HistoryFootprint> {
  const pending = [directiveWorkflowId(directiveId)];
  const seen = new Set<string>();
  let events = 0;
  let activities = 0;
  let localActivities = 0;
  let jsonBytes = 0;
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    if (seen.has(id)) continue;
    seen.add(id);
    const history = await h.client.workflow.getHandle(id).fetchHistory();
    const list = history.events ?? [];
    events += list.length;
    for (const event of list) {
      if (event.activityTaskScheduledEventAttributes) activities++;
      if (event.markerRecordedEventAttributes?.markerName === "core_local_activity") {
        localActivities++;
      }
      const child = event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      if (child) pending.push(child);
    }
    jsonBytes += new TextEncoder().encode(historyToJSON(history)).length;
  }
  return { workflows: seen.size, events, activities, localActivities, jsonBytes };
}

/** The bare-Temporal baselines: their own worker and task queue in this process. */
export interface BareBaseline {
  /**
   * Runs one bare workflow with `activities` no-op activities to the end: 1
   * is the least a user writes to run an action durably. `local` runs them
   * as local activities.
   */
  run(activities: number, kind?: "regular" | "local"): Promise<void>;
  /** Stops its worker. */
  stop(): Promise<void>;
}

/** Bundles `bench/bare/workflows.ts` and starts a worker for it on the harness's server. */
export async function startBareBaseline(
  h: { readonly server: { readonly address: string }; readonly client: Client },
): Promise<BareBaseline> {
  const connection = await NativeConnection.connect({ address: h.server.address });
  const taskQueue = `bare-${crypto.randomUUID()}`;
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: new URL("./bare/workflows.ts", import.meta.url).pathname,
    webpackConfigHook: confineBundler,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle,
    activities: createBareActivities(),
  });
  const running = worker.run();
  const client: Client = h.client;
  return {
    async run(activities, kind = "regular") {
      await client.workflow.execute<typeof bareWorkflow>(
        kind === "local" ? "bareLocalWorkflow" : "bareWorkflow",
        { taskQueue, workflowId: `bare-${crypto.randomUUID()}`, args: [activities] },
      );
    },
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** Postgres activity of one database, as counters. */
interface DbCounters {
  /** The settled transaction count before the table statistics were read. */
  readonly xactsBeforeRead: number;
  /** The settled transaction count after: reading the statistics is transactions too. */
  readonly xacts: number;
  readonly rows: number;
  readonly byTable: Record<string, number>;
}

async function databaseXacts(admin: Sql, database: string): Promise<number> {
  const [row] = await admin<{ xacts: string }[]>`
    SELECT (xact_commit + xact_rollback)::text AS xacts FROM pg_stat_database
     WHERE datname = ${database}`;
  return Number(row?.xacts ?? Number.NaN);
}

// A fresh connection that is closed at once: its own statistics are flushed
// when its backend exits, so reading them does not linger in a later delta.
async function tableWrites(ownerUrl: string): Promise<Record<string, number>> {
  const sql = connect(ownerUrl, { max: 1 });
  try {
    const rows = await sql<{ relname: string; written: string }[]>`
      SELECT relname, (n_tup_ins + n_tup_upd + n_tup_del)::text AS written
        FROM pg_stat_user_tables`;
    return Object.fromEntries(rows.map((row) => [row.relname, Number(row.written)]));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Waits until the database's transaction counter stops moving. Backends flush
 * their statistics asynchronously (at most once a second while busy, within
 * ten seconds once idle), so wait past that before trusting a reading.
 */
async function settledXacts(admin: Sql, database: string, quietMs: number): Promise<number> {
  await admin`SELECT pg_stat_force_next_flush()`;
  await new Promise((resolve) => setTimeout(resolve, quietMs));
  let last = await databaseXacts(admin, database);
  for (let i = 0; i < 30; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = await databaseXacts(admin, database);
    if (now === last) return now;
    last = now;
  }
  return last;
}

async function counters(h: LoopHarness, admin: Sql, quietMs: number): Promise<DbCounters> {
  const xactsBeforeRead = await settledXacts(admin, h.db.name, quietMs);
  const byTable = await tableWrites(h.db.ownerUrl);
  const xacts = await settledXacts(admin, h.db.name, 2000);
  const rows = Object.values(byTable).reduce((sum, value) => sum + value, 0);
  return { xactsBeforeRead, xacts, rows, byTable };
}

/** Postgres cost of one directive, from statistics deltas. */
export interface DbCost {
  /** Directives measured. */
  readonly directives: number;
  /** Transactions (commits and rollbacks) per directive. */
  readonly xactsPerDirective: number;
  /** Rows inserted, updated or deleted per directive. */
  readonly rowsPerDirective: number;
  /** Rows written per directive, by table (tables with none left out). */
  readonly rowsByTable: Record<string, number>;
}

/** Runs `directives` noop directives (16 at a time) and reads the statistics deltas. */
export async function measureDbCost(
  h: LoopHarness,
  options: { schema: DirectiveSchema; directives: number },
): Promise<DbCost> {
  const admin = connect(adminUrl(), { max: 1 });
  try {
    const before = await counters(h, admin, 11_000);
    await timedBatch(options.directives, {
      concurrency: 16,
      item: async () => void await runOneDirective(h, options.schema),
    });
    const after = await counters(h, admin, 11_000);
    const rowsByTable: Record<string, number> = {};
    for (const [table, written] of Object.entries(after.byTable)) {
      const delta = written - (before.byTable[table] ?? 0);
      if (delta > 0) rowsByTable[table] = delta / options.directives;
    }
    return {
      directives: options.directives,
      // From after the first reading to before the second: the bench's own
      // reads of the statistics are not the directives' transactions.
      xactsPerDirective: (after.xactsBeforeRead - before.xacts) / options.directives,
      rowsPerDirective: (after.rows - before.rows) / options.directives,
      rowsByTable,
    };
  } finally {
    await admin.end({ timeout: 5 });
  }
}
