/**
 * Starts a real Temporal dev server (the CLI bootstrapped by
 * `scripts/bootstrap.sh`) on free loopback ports for one suite.
 *
 * @module
 */
import { DefaultLogger, NativeConnection, Runtime } from "@temporalio/worker";

let runtimeInstalled = false;

/** Keeps the SDK's own logs to errors so test output stays readable. */
export function quietTemporalLogs(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger("ERROR") });
  runtimeInstalled = true;
}

/** Finds the Temporal CLI: `KEEL_TEMPORAL_BIN`, then the bootstrap cache, then PATH. */
export function temporalBinary(): string {
  const explicit = Deno.env.get("KEEL_TEMPORAL_BIN");
  if (explicit) return explicit;
  const cacheDir = Deno.env.get("KEEL_CACHE_DIR") ?? `${Deno.env.get("HOME")}/.cache/keel`;
  const cached = `${cacheDir}/bin/temporal`;
  try {
    Deno.statSync(cached);
    return cached;
  } catch {
    return "temporal";
  }
}

/** Returns a port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A running dev server. */
export interface DevServer {
  /** host:port of its frontend. */
  readonly address: string;
  /** The server process, for fault injection. */
  readonly process: Deno.ChildProcess;
  /** Stops it and waits for it to exit. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startDevServer}. */
export interface DevServerOptions {
  /** SQLite file to persist to; in-memory when absent. */
  readonly dbFile?: string;
  /** Port to bind; a free one when absent. */
  readonly port?: number;
}

/** Starts `temporal server start-dev` headless and waits until it accepts connections. */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  quietTemporalLogs();
  const port = options.port ?? freePort();
  const address = `127.0.0.1:${port}`;
  const args = [
    "server",
    "start-dev",
    "--headless",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--log-level",
    "error",
  ];
  if (options.dbFile) args.push("--db-filename", options.dbFile);
  const child = new Deno.Command(temporalBinary(), {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream());
  let errorText = "";
  const drained = (async () => {
    for await (const chunk of stderr) errorText = (errorText + chunk).slice(-4000);
  })();
  const deadline = Date.now() + 60_000;
  while (true) {
    try {
      const connection = await NativeConnection.connect({ address });
      await connection.close();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        await child.status;
        throw new Error(`Temporal dev server at ${address} did not start: ${errorText}`, {
          cause: error,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return {
    address,
    process: child,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
      await child.status;
      await drained;
    },
  };
}
