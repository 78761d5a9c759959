/**
 * `deno task bench:capacity [--dir=.data/cluster] [--items=192] [--concurrency=16]`:
 * per-directive costs on a running `scripts/cluster.sh` (docs/deploy.md), the
 * figures docs/capacity.md is derived from. Auto-approved `noop` directives
 * go in through the cluster's API servers (alternately, as its agent), and
 * their loops are awaited through Temporal. For the batch it prints the
 * throughput and latency, and per directive: CPU milliseconds of each
 * component (the workers with their module processes, then split into the
 * two, the API servers, the Temporal server, Jaeger, every PostgreSQL process
 * of the server), the
 * PostgreSQL transactions committed in Keel's and in Temporal's databases, and
 * the bytes those databases grew by. Writes nothing. Not part of the tests.
 *
 * @module
 */
import { Client } from "@temporalio/client";
import { NativeConnection } from "@temporalio/worker";
import { waitForLoop } from "../src/loop/mod.ts";
import { noopDocument, timedBatch } from "./_loop.ts";
import { cpuSeconds } from "./_machine.ts";

interface ClusterFile {
  readonly temporal_address: string;
  readonly temporal_pid: number;
  readonly jaeger_pid: number;
  readonly api_urls: readonly string[];
  readonly api_pids: readonly number[];
  readonly worker_pids: readonly number[];
  readonly agent_token_file: string;
  readonly temporal_databases: readonly string[];
  readonly database_url: string;
}

function flag(name: string, fallback: string): string {
  return Deno.args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}
const unknown = Deno.args.find((arg) => !/^--(dir|items|concurrency)=/.test(arg));
if (unknown !== undefined) {
  throw new Error(`Unknown argument "${unknown}"; use --dir=, --items= and --concurrency=`);
}
const dir = flag("dir", ".data/cluster");
const items = Number(flag("items", "192"));
const concurrency = Number(flag("concurrency", "16"));
for (const [name, value] of [["items", items], ["concurrency", concurrency]] as const) {
  if (!Number.isInteger(value) || value < 1 || value > 100_000) {
    throw new Error(`--${name}="${value}" must be a whole number from 1 to 100000`);
  }
}
const cluster = JSON.parse(await Deno.readTextFile(`${dir}/cluster.json`)) as ClusterFile;
const token = (await Deno.readTextFile(cluster.agent_token_file)).trim();
const keelDb = new URL(cluster.database_url).pathname.slice(1);
const databases = [keelDb, ...cluster.temporal_databases];

async function psql(query: string): Promise<string[]> {
  const out = await new Deno.Command("psql", {
    args: ["postgres://postgres@127.0.0.1:5432/postgres", "-Atqc", query],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim().split("\n");
}

/** Committed transactions and size of each database, in `databases`' order. */
async function dbCounters(): Promise<{ commits: number[]; bytes: number[] }> {
  const rows = await psql(
    `SELECT d.datname, s.xact_commit, pg_database_size(d.datname) FROM pg_database d
       JOIN pg_stat_database s ON s.datid = d.oid WHERE d.datname IN (${
      databases.map((d) => `'${d}'`).join(", ")
    })`,
  );
  const byName = new Map(rows.map((r) => r.split("|")).map(([n, c, b]) => [n!, [+c!, +b!]]));
  return {
    commits: databases.map((d) => byName.get(d)?.[0] ?? 0),
    bytes: databases.map((d) => byName.get(d)?.[1] ?? 0),
  };
}

async function postgresPids(): Promise<number[]> {
  const out = await new Deno.Command("pgrep", { args: ["-x", "postgres"], stdout: "piped" })
    .output();
  return new TextDecoder().decode(out.stdout).trim().split("\n").filter(Boolean).map(Number);
}

/** `pid` and every process under it now (an API server's launcher runs the server as its child). */
async function withDescendants(pid: number): Promise<number[]> {
  const out = await new Deno.Command("pgrep", { args: ["-P", String(pid)], stdout: "piped" })
    .output();
  const children = new TextDecoder().decode(out.stdout).trim().split("\n").filter(Boolean);
  const below = await Promise.all(children.map((child) => withDescendants(Number(child))));
  return [pid, ...below.flat()];
}

/** CPU seconds of `pids` and their descendants (reaped ones included, through each parent's counters). */
async function cpuOf(pids: readonly number[]): Promise<number> {
  const all = (await Promise.all(pids.map(withDescendants))).flat();
  const values = await Promise.all(all.map((pid) => cpuSeconds(pid).catch(() => 0)));
  return values.reduce((a, b) => a + b, 0);
}

const connection = await NativeConnection.connect({ address: cluster.temporal_address });
const client = new Client({ connection });
let sequence = 0;
const runId = crypto.randomUUID().slice(0, 8);

async function oneDirective(index: number): Promise<void> {
  const document = { ...noopDocument(), idempotency_key: `capacity/${runId}/${sequence++}` };
  const url = cluster.api_urls[index % cluster.api_urls.length]!;
  const response = await fetch(`${url}/api/directives`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(document),
  });
  const body = await response.json();
  if (response.status !== 201) {
    throw new Error(`submit: ${response.status} ${JSON.stringify(body)}`);
  }
  const id = String(body.directive.id);
  const outcome = await waitForLoop(client, id);
  if (outcome.status !== "complete") throw new Error(`${id} ended "${outcome.status}"`);
}

// Warm-up: every process has compiled its paths before the measurement.
await timedBatch(Math.min(32, items), { concurrency, item: oneDirective });
const groups = {
  workers: cluster.worker_pids,
  "API servers": cluster.api_pids,
  "Temporal server": [cluster.temporal_pid],
  Jaeger: [cluster.jaeger_pid],
  PostgreSQL: await postgresPids(),
};
/** The worker processes alone, without their module processes: what the sandbox adds is the difference. */
const workersOwn = () =>
  Promise.all(cluster.worker_pids.map((pid) => cpuSeconds(pid, true)))
    .then((values) => values.reduce((a, b) => a + b, 0));
const ownBefore = await workersOwn();
const cpuBefore = await Promise.all(Object.values(groups).map(cpuOf));
const dbBefore = await dbCounters();
const batch = await timedBatch(items, { concurrency, item: oneDirective });
const cpuAfter = await Promise.all(Object.values(groups).map(cpuOf));
const ownAfter = await workersOwn();
// PostgreSQL publishes a backend's counters within a second of its last transaction.
await new Promise((resolve) => setTimeout(resolve, 2000));
const dbAfter = await dbCounters();
await connection.close();

console.log(
  `${items} noop directives at concurrency ${concurrency} through ${cluster.api_urls.length} API servers, ${cluster.worker_pids.length} worker(s) (load ${
    Deno.loadavg().map((v) => v.toFixed(2)).join(" ")
  })`,
);
console.log(
  `throughput ${batch.perSecond.toFixed(2)} directives/s, p50 ${batch.p50Ms.toFixed(0)} ms, p95 ${
    batch.p95Ms.toFixed(0)
  } ms`,
);
console.log("| per directive | value |");
console.log("|---|---:|");
Object.keys(groups).forEach((name, i) => {
  const ms = (cpuAfter[i]! - cpuBefore[i]!) * 1000 / items;
  console.log(`| CPU ms, ${name} | ${ms.toFixed(1)} |`);
  if (name === "workers") {
    const own = (ownAfter - ownBefore) * 1000 / items;
    console.log(`| CPU ms, workers without their module processes | ${own.toFixed(1)} |`);
    console.log(`| CPU ms, the workers' module processes | ${(ms - own).toFixed(1)} |`);
  }
});
databases.forEach((name, i) => {
  const commits = (dbAfter.commits[i]! - dbBefore.commits[i]!) / items;
  const kib = (dbAfter.bytes[i]! - dbBefore.bytes[i]!) / 1024 / items;
  console.log(`| transactions, ${name} | ${commits.toFixed(2)} |`);
  console.log(`| KiB grown, ${name} | ${kib.toFixed(1)} |`);
});
Deno.exit(0);
