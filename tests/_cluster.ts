/**
 * Starts `scripts/cluster.sh` as docs/deploy.md tells a user to, with its own
 * state directory, ports and database prefix (the variables the script
 * documents), and talks to what it started: the API servers over HTTP with the
 * tokens it wrote, Temporal through a client, Jaeger through its HTTP API.
 *
 * @module
 */
import { assert } from "@std/assert";
import { Client, Connection } from "@temporalio/client";
import { collect } from "./_worker_process.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** What `cluster.json` records. */
export interface ClusterState {
  readonly supervisor_pid: number;
  readonly temporal_address: string;
  readonly temporal_pid: number;
  readonly database_url: string;
  readonly temporal_databases: readonly string[];
  readonly temporal_role: string;
  readonly jaeger_url: string;
  readonly api_urls: readonly string[];
  readonly worker_pids: readonly number[];
  readonly agent_token_file: string;
  readonly operator_token_file: string;
  readonly logs: string;
}

/** A running cluster. */
export interface Cluster {
  /** Its state directory. */
  readonly dir: string;
  /** The database prefix it was given. */
  readonly prefix: string;
  /** Every line the script wrote on stderr so far. */
  readonly lines: string[];
  /** The current `cluster.json`. */
  state(): Promise<ClusterState>;
  /** Calls API server `server` (0 or 1) as the agent or the operator. */
  api(
    server: number,
    who: "agent" | "operator",
    path: string,
    init?: { method?: string; body?: unknown },
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  /** A Temporal client on the cluster's server. */
  temporal(): Promise<Client>;
  /**
   * Closes that client's connection: Deno's HTTP/2 client aborts the process
   * on the GOAWAY of a server that stops under it (an nghttp2 assertion).
   */
  closeTemporal(): Promise<void>;
  /** Stops the script (SIGTERM) and drops its databases and role. */
  stop(): Promise<void>;
}

function isTaken(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return false;
  } catch {
    return true;
  }
}

/** A base port whose 22 ports are free now. */
function freeBase(): number {
  for (let tries = 0; tries < 50; tries++) {
    // Below 32700: Temporal keeps its membership ports as a PostgreSQL smallint.
    const base = 20_000 + Math.floor(Math.random() * 250) * 50;
    let free = true;
    for (let offset = 0; offset < 22 && free; offset++) free = !isTaken(base + offset);
    if (free) return base;
  }
  throw new Error("no free range of 22 ports found for the cluster");
}

/** Runs one query as the PostgreSQL superuser the cluster was made with; its rows as text. */
export async function psqlAdmin(command: string): Promise<string> {
  const out = await new Deno.Command("psql", {
    args: ["postgres://postgres@127.0.0.1:5432/postgres", "-Atqc", command],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** Starts the cluster with `workers` workers and waits for "ready". */
export async function startCluster(workers = 2): Promise<Cluster> {
  const dir = await Deno.makeTempDir({ prefix: "keel_cluster_" });
  const prefix = `keel_ct${crypto.randomUUID().slice(0, 8)}_`;
  const child = new Deno.Command("bash", {
    args: ["scripts/cluster.sh"],
    cwd: ROOT,
    env: {
      KEEL_CLUSTER_DIR: dir,
      KEEL_CLUSTER_PORT_BASE: String(freeBase()),
      KEEL_CLUSTER_DB_PREFIX: prefix,
      KEEL_CLUSTER_WORKERS: String(workers),
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const reading = collect(child.stderr, lines);
  const exited = child.status.then((s) => s);
  const ready = async () => {
    for (;;) {
      if (lines.some((l) => l.includes("keel cluster: ready"))) return;
      const done = await Promise.race([exited, new Promise((r) => setTimeout(r, 250))]);
      if (done !== undefined) {
        throw new Error(`scripts/cluster.sh exited before ready:\n${lines.slice(-20).join("\n")}`);
      }
    }
  };
  await ready();
  const state = async (): Promise<ClusterState> =>
    JSON.parse(await Deno.readTextFile(`${dir}/cluster.json`));
  const first = await state();
  const tokens = {
    agent: (await Deno.readTextFile(first.agent_token_file)).trim(),
    operator: (await Deno.readTextFile(first.operator_token_file)).trim(),
  };
  let connection: Connection | undefined;
  return {
    dir,
    prefix,
    lines,
    state,
    async api(server, who, path, init = {}) {
      const url = first.api_urls[server];
      assert(url, `no API server ${server}`);
      const response = await fetch(`${url}${path}`, {
        method: init.method ?? (init.body === undefined ? "GET" : "POST"),
        headers: { authorization: `Bearer ${tokens[who]}`, "content-type": "application/json" },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text === "" ? {} : JSON.parse(text) };
    },
    async temporal() {
      connection ??= await Connection.connect({ address: first.temporal_address });
      return new Client({ connection });
    },
    async closeTemporal() {
      await connection?.close();
      connection = undefined;
    },
    async stop() {
      await connection?.close();
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await exited;
      await reading;
      for (const db of ["keel", "temporal", "temporal_visibility"]) {
        await psqlAdmin(`DROP DATABASE IF EXISTS "${prefix}${db}" WITH (FORCE)`);
      }
      await psqlAdmin(`DROP ROLE IF EXISTS "${prefix}temporal"`);
      await Deno.remove(`${dir}/artifacts`, { recursive: true }).catch(() => {});
    },
  };
}

/** Polls `check` every 200 ms until it returns a value, for at most `ms`. */
export async function until<T>(
  check: () => Promise<T | undefined>,
  what: string,
  ms = 120_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
