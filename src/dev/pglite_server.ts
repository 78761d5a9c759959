/**
 * The embedded database of `scripts/dev.sh` on a machine without PostgreSQL
 * server binaries: PGlite with pgvector, persisted under `.data/pglite`,
 * served over the Postgres wire protocol by pglite-socket on loopback.
 * PGlite runs one session at a time; pglite-socket makes every other
 * connection wait while one holds a transaction, so clients use a pool of one
 * (`KEEL_DB_POOL_MAX=1`).
 *
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { parseArgs } from "node:util";
import { z } from "zod";

const Settings = z.object({
  dir: z.string().min(1).default(".data/pglite"),
  port: z.coerce.number().int().min(1).max(65535).default(54329),
});

const HELP = `Usage: deno run -P=pglite src/dev/pglite_server.ts [--dir D] [--port P]

Serves an embedded PGlite database with pgvector, persisted in D (default
.data/pglite), on 127.0.0.1:P (default 54329) until SIGINT or SIGTERM.`;

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      dir: { type: "string" },
      port: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const parsed = Settings.safeParse(values);
  if (!parsed.success) {
    console.error(
      `pglite: ${parsed.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
    return 2;
  }
  const settings = { KEEL_PGLITE_DIR: parsed.data.dir, KEEL_PG_PORT: parsed.data.port };
  await Deno.mkdir(settings.KEEL_PGLITE_DIR, { recursive: true });
  const db = await PGlite.create({ dataDir: settings.KEEL_PGLITE_DIR, extensions: { vector } });
  const server = new PGLiteSocketServer(
    {
      db,
      host: "127.0.0.1",
      port: settings.KEEL_PG_PORT,
      maxConnections: 32,
    } as ConstructorParameters<typeof PGLiteSocketServer>[0],
  );
  await server.start();
  console.log(
    `pglite: serving ${settings.KEEL_PGLITE_DIR} (PGlite with pgvector) on 127.0.0.1:${settings.KEEL_PG_PORT}`,
  );
  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, resolve);
  await stopped;
  await server.stop();
  // Closing flushes PGlite's files, so the next run finds every committed row.
  await db.close();
  console.log("pglite: stopped");
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
