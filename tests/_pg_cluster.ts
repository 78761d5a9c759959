/**
 * A dedicated, throwaway Postgres cluster for fault injection: `initdb` into a
 * temporary folder, `pg_ctl` to start, crash and stop it. The system cluster
 * is never touched. When the test runs as root, the tools run as the
 * `postgres` user (initdb refuses root).
 *
 * @module
 */

/**
 * The lowest port of the kernel's ephemeral range (`ip_local_port_range`),
 * from which outgoing connections take their local ports.
 */
function ephemeralLow(): number {
  try {
    const low = Number(
      Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").split(/\s+/)[0],
    );
    return Number.isInteger(low) && low > 1024 ? low : 32768;
  } catch {
    return 32768;
  }
}

/**
 * A free port below the ephemeral range. The cluster goes down and comes back
 * on the same port, and while it is down, a port in the ephemeral range may
 * be taken as the local port of any outgoing connection (a client retrying
 * 127.0.0.1:port can even connect to itself), which would keep Postgres from
 * binding it again. No connection takes a port below the range unless asked.
 */
function stablePort(): number {
  const low = 20_000;
  const high = Math.max(low + 1_000, ephemeralLow());
  for (let tries = 0; tries < 100; tries++) {
    const port = low + Math.floor(Math.random() * (high - low));
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    }
  }
  throw new Error(`no free port between ${low} and ${high} after 100 tries`);
}

/** The server's tool folder, as `pg_config` reports it (Debian keeps it off PATH). */
async function binDir(): Promise<string> {
  try {
    return (await run("pg_config", ["--bindir"], false)).trim();
  } catch {
    return "/usr/lib/postgresql/15/bin";
  }
}

/** A running dedicated cluster. */
export interface PgCluster {
  /** Superuser URL of its `postgres` database. */
  readonly adminUrl: string;
  /** Its TCP port on 127.0.0.1. */
  readonly port: number;
  /** Stops it at once, as a crash would (`pg_ctl stop -m immediate`). */
  crash(): Promise<void>;
  /** Starts it again on the same data and port, waiting until it accepts connections. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

async function run(command: string, args: string[], asPostgres: boolean): Promise<string> {
  const [program, argv] = asPostgres
    ? ["runuser", ["-u", "postgres", "--", command, ...args]]
    : [command, args];
  const output = await new Deno.Command(program, { args: argv, stdin: "null" }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (output.code !== 0) {
    throw new Error(`"${command} ${args.join(" ")}" exited with ${output.code}: ${text}`);
  }
  return text;
}

/** Creates and starts a cluster under a new temporary folder. */
export async function startPgCluster(): Promise<PgCluster> {
  const asPostgres = Deno.uid() === 0;
  const bin = await binDir();
  const dir = await Deno.makeTempDir({ prefix: "keel_pg_" });
  if (asPostgres) {
    const uid = Number((await run("id", ["-u", "postgres"], false)).trim());
    const gid = Number((await run("id", ["-g", "postgres"], false)).trim());
    await Deno.chown(dir, uid, gid);
  }
  const data = `${dir}/data`;
  const port = stablePort();
  await run(
    `${bin}/initdb`,
    ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"],
    asPostgres,
  );
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const cluster: PgCluster = {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async crash() {
      await run(`${bin}/pg_ctl`, ["-D", data, "-m", "immediate", "-w", "stop"], asPostgres);
    },
    async start() {
      try {
        await run(
          `${bin}/pg_ctl`,
          ["-D", data, "-o", options, "-l", `${dir}/server.log`, "-w", "-t", "60", "start"],
          asPostgres,
        );
      } catch (error) {
        const log = await Deno.readTextFile(`${dir}/server.log`).catch(() => "(no server.log)");
        throw new Error(`${(error as Error).message}\nserver.log ends:\n${log.slice(-2000)}`, {
          cause: error,
        });
      }
    },
    async destroy() {
      try {
        await run(`${bin}/pg_ctl`, ["-D", data, "-m", "immediate", "-w", "stop"], asPostgres);
      } catch {
        // already stopped
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
  await cluster.start();
  return cluster;
}
