/**
 * The command line `deno task serve` starts the server with: the `server`
 * permission set of deno.json, except that the network allow-list is built
 * from the configuration: the configured listen address (host:port) and the
 * exact host:port of each service the server calls, nothing broader. The
 * server process therefore cannot listen on any other address (0.0.0.0 or
 * another port included).
 *
 * Pure: it takes the parsed configuration and the permission set.
 *
 * @module
 */
import { urlHostPort } from "../config/permissions.ts";

/** A deno.json permission set (the keys the server's uses). */
export interface PermissionSet {
  /** Paths that may be read. */
  readonly read?: readonly string[];
  /** Paths that may be written. */
  readonly write?: readonly string[];
  /** Environment names (a trailing `*` is a prefix). */
  readonly env?: readonly string[];
  /** Hosts (replaced by the computed list). */
  readonly net?: readonly string[];
  /** Foreign functions. */
  readonly ffi?: boolean;
  /** System information names. */
  readonly sys?: readonly string[];
}

/** What the network allow-list is built from. */
export interface ServerAddresses {
  /** KEEL_HTTP_HOST. */
  readonly host: string;
  /** KEEL_HTTP_PORT. */
  readonly port: number;
  /** DATABASE_URL. */
  readonly databaseUrl: string;
  /** TEMPORAL_ADDRESS (host:port). */
  readonly temporalAddress: string;
  /** OTEL_EXPORTER_OTLP_ENDPOINT, when set. */
  readonly otelEndpoint?: string | undefined;
  /** KEEL_S3_ENDPOINT, when the artifact store is S3. */
  readonly s3Endpoint?: string | undefined;
  /** KEEL_S3_BUCKET: virtual-hosted requests go to `<bucket>.<endpoint host>`. */
  readonly s3Bucket?: string | undefined;
  /** The embeddings provider's base URL, when one is configured. */
  readonly embeddingsUrl?: string | undefined;
}

function bracket(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** The exact host:port entries the server may reach or listen on. */
export function serverNetAllowList(addresses: ServerAddresses): string[] {
  const entries = [
    `${bracket(addresses.host)}:${addresses.port}`,
    urlHostPort(addresses.databaseUrl.replace(/^postgres(ql)?:/, "http:"), 5432)
      .replace(/:80$/, ":5432"),
    addresses.temporalAddress,
  ];
  if (addresses.otelEndpoint) entries.push(urlHostPort(addresses.otelEndpoint, 4318));
  if (addresses.s3Endpoint) {
    const s3 = urlHostPort(addresses.s3Endpoint, 443);
    entries.push(s3);
    if (addresses.s3Bucket) entries.push(`${addresses.s3Bucket}.${s3}`);
  }
  if (addresses.embeddingsUrl) entries.push(urlHostPort(addresses.embeddingsUrl, 443));
  return [...new Set(entries)];
}

/** The `deno run` flags of a permission set, with `net` replaced by `net`. */
export function permissionFlags(set: PermissionSet, net: readonly string[]): string[] {
  const flags: string[] = [];
  const list = (name: string, values: readonly string[] | undefined) => {
    if (values !== undefined && values.length > 0) {
      flags.push(`--allow-${name}=${values.join(",")}`);
    }
  };
  list("read", set.read);
  list("write", set.write);
  list("env", set.env);
  list("net", net);
  if (set.ffi === true) flags.push("--allow-ffi");
  list("sys", set.sys);
  return flags;
}
