/**
 * `deno task bench:floor`: the floor under Keel. Bare Temporal workflows (one
 * no-op activity, seven, seven local activities) on the dev server in memory
 * and on the dev server with its SQLite file, at concurrency 1 and 16, with
 * the CPU the server process used per workflow, so that what limits each is
 * read from figures: a server that waits (fsync, polling) uses little CPU per
 * workflow while its latency grows; a CPU-bound one uses its cores. Prints a
 * table; writes nothing. Not part of the test command.
 *
 * @module
 */
import { Client } from "@temporalio/client";
import { NativeConnection } from "@temporalio/worker";
import { type DevServer, startDevServer } from "../tests/_temporal.ts";
import { startBareBaseline } from "./_loop.ts";
import { cpuSeconds } from "./_machine.ts";
import { percentile } from "./_stats.ts";

interface Row {
  readonly server: string;
  readonly workflow: string;
  readonly concurrency: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly serverCpuMsPerWorkflow: number;
}

async function measure(
  server: DevServer,
  label: string,
  shapes: readonly { name: string; activities: number; kind: "regular" | "local" }[],
): Promise<Row[]> {
  const connection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection });
  const bare = await startBareBaseline({ server, client });
  const rows: Row[] = [];
  try {
    for (const shape of shapes) {
      for (let i = 0; i < 3; i++) await bare.run(shape.activities, shape.kind); // warm-up
      for (const concurrency of [1, 16]) {
        const items = concurrency === 1 ? 20 : 96;
        const latencies: number[] = [];
        let next = 0;
        const cpuBefore = await cpuSeconds(server.process.pid);
        const began = performance.now();
        await Promise.all(Array.from({ length: concurrency }, async () => {
          while (next < items) {
            next++;
            const start = performance.now();
            await bare.run(shape.activities, shape.kind);
            latencies.push(performance.now() - start);
          }
        }));
        const seconds = (performance.now() - began) / 1000;
        const cpu = await cpuSeconds(server.process.pid) - cpuBefore;
        rows.push({
          server: label,
          workflow: shape.name,
          concurrency,
          perSecond: items / seconds,
          p50Ms: percentile(latencies, 50),
          serverCpuMsPerWorkflow: (cpu * 1000) / items,
        });
      }
    }
  } finally {
    await bare.stop();
    await connection.close();
  }
  return rows;
}

const SHAPES = [
  { name: "1 activity", activities: 1, kind: "regular" },
  { name: "7 activities", activities: 7, kind: "regular" },
  { name: "7 local activities", activities: 7, kind: "local" },
] as const;

const dir = await Deno.makeTempDir({ prefix: "keel_floor_" });
const rows: Row[] = [];
for (const [label, dbFile] of [["in memory", undefined], ["SQLite file", `${dir}/temporal.db`]]) {
  const server = await startDevServer(dbFile === undefined ? {} : { dbFile });
  try {
    rows.push(...await measure(server, label!, SHAPES));
  } finally {
    await server.stop();
  }
}
await Deno.remove(dir, { recursive: true });
const fixed = (n: number, digits = 1) => n.toFixed(digits);
console.log(
  "| dev server | workflow | concurrency | workflows/s | p50 ms | server CPU ms per workflow |",
);
console.log("|---|---|---:|---:|---:|---:|");
for (const r of rows) {
  console.log(
    `| ${r.server} | ${r.workflow} | ${r.concurrency} | ${fixed(r.perSecond)} | ${
      fixed(r.p50Ms, 0)
    } | ${fixed(r.serverCpuMsPerWorkflow)} |`,
  );
}
