/**
 * `deno task serve`: starts `src/server/main.ts` in a child process whose
 * network permission is the configured listen address plus the exact
 * services the server calls (see `launch_args.ts`), instead of a static list.
 * Forwards SIGINT/SIGTERM and exits with the server's code.
 *
 * @module
 */
import {
  ConfigError,
  parseDatabaseConfig,
  parseServerConfig,
  parseTemporalConfig,
  readEnv,
} from "../config/mod.ts";
import { NEEDS_ENV, needsOf } from "../config/process_needs.ts";
import { permissionFlags, type PermissionSet, serverNetAllowList } from "./launch_args.ts";

const NAMES = [...new Set(["KEEL_HTTP_HOST", "KEEL_HTTP_PORT", ...NEEDS_ENV.server])];

async function main(): Promise<number> {
  const env = readEnv(NAMES, (name) => Deno.env.get(name));
  const server = parseServerConfig({
    ...(env.KEEL_HTTP_HOST === undefined ? {} : { KEEL_HTTP_HOST: env.KEEL_HTTP_HOST }),
    ...(env.KEEL_HTTP_PORT === undefined ? {} : { KEEL_HTTP_PORT: env.KEEL_HTTP_PORT }),
  });
  const net = serverNetAllowList({
    host: server.host,
    port: server.port,
    databaseUrl: parseDatabaseConfig(env).databaseUrl,
    temporalAddress: parseTemporalConfig(env).address,
    otelEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
    s3Endpoint: env.KEEL_ARTIFACT_STORE === "s3" ? env.KEEL_S3_ENDPOINT : undefined,
    s3Bucket: env.KEEL_S3_BUCKET,
    // Memory searches embed their query with the configured provider.
    embeddingsUrl: env.KEEL_EMBEDDINGS_PROVIDER === "openai"
      ? env.OPENAI_BASE_URL ?? "https://api.openai.com"
      : undefined,
  });
  const config = JSON.parse(await Deno.readTextFile("deno.json"));
  const set = config.permissions?.server as PermissionSet | undefined;
  if (set === undefined) throw new Error(`deno.json has no "server" permission set`);
  // The artifact directory, wherever KEEL_ARTIFACT_DIR puts it, is readable.
  const read = needsOf("server", env).filter((n) => n.access === "read").map((n) => n.target);
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--quiet",
      ...permissionFlags({ ...set, read: [...new Set([...(set.read ?? []), ...read])] }, net),
      "src/server/main.ts",
    ],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const forward = (signal: Deno.Signal) => () => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  Deno.addSignalListener("SIGINT", forward("SIGINT"));
  Deno.addSignalListener("SIGTERM", forward("SIGTERM"));
  const status = await child.status;
  return status.code;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`keel serve: ${error.message}`);
    Deno.exit(2); // EXIT.usage of src/errors/table.ts, not imported into this narrow launcher
  }
}
