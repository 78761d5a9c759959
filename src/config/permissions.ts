/**
 * What the configuration needs of a process's Deno permissions: the artifact
 * directory (read, and write where the process stores bodies) and the host of
 * every configured service it calls (object store, database, Temporal, OTLP,
 * model and evaluation providers). An entry point checks the needs at start-up
 * with {@linkcode assertPermissions}, so a configuration its permission set
 * cannot serve is refused at once, naming the variable, instead of failing at
 * the first large artifact; {@linkcode permissionFlags} gives the launchers the
 * `--allow-*` lists that serve it. See docs/decisions/0022.
 *
 * @module
 */
import type { ArtifactConfig } from "./artifacts.ts";
import { ConfigError } from "./_env.ts";

/** A kind of permission the configuration can need. */
export type Access = "read" | "write" | "net";

/** One permission the configuration needs, and the variable that asks for it. */
export interface Need {
  /** The permission kind. */
  readonly access: Access;
  /** A path, or `host:port` for net. */
  readonly target: string;
  /** The variable whose value needs it. */
  readonly variable: string;
  /** That variable's value (never a secret: paths and URLs). */
  readonly value: string;
}

function bracket(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** `host:port` of a URL; the port defaults from the scheme, else `fallbackPort`. */
export function urlHostPort(url: string, fallbackPort: number): string {
  const parsed = new URL(url);
  const port = parsed.port !== ""
    ? parsed.port
    : parsed.protocol === "https:"
    ? "443"
    : parsed.protocol === "http:"
    ? "80"
    : String(fallbackPort);
  return `${parsed.hostname}:${port}`;
}

/** `host:port` of a postgres URL (port 5432 unless given); undefined for a socket URL. */
export function postgresHostPort(url: string): string | undefined {
  const parsed = new URL(url.replace(/^postgres(ql)?:/, "http:"));
  if (parsed.hostname === "") return undefined;
  return `${parsed.hostname}:${parsed.port === "" ? "5432" : parsed.port}`;
}

/** What one process is configured to use; each field is left out when the process does not. */
export interface NeedsInput {
  /** The artifact store, and whether this process writes bodies (else it only reads them). */
  readonly artifacts?: { readonly config: ArtifactConfig; readonly write: boolean };
  /** The database URL and the variable it came from. */
  readonly database?: { readonly variable: string; readonly url: string };
  /** TEMPORAL_ADDRESS. */
  readonly temporalAddress?: string;
  /** OTEL_EXPORTER_OTLP_ENDPOINT, when set. */
  readonly otlpEndpoint?: string | undefined;
  /** Provider base URLs in use, by variable (ANTHROPIC_BASE_URL, OPENAI_BASE_URL, ...). */
  readonly serviceUrls?: Readonly<Record<string, string>>;
}

/** The permissions `input` needs. Pure. */
export function permissionNeeds(input: NeedsInput): Need[] {
  const needs: Need[] = [];
  const net = (variable: string, value: string, target: string | undefined) => {
    if (target !== undefined) needs.push({ access: "net", target, variable, value });
  };
  const artifacts = input.artifacts?.config;
  if (artifacts?.kind === "fs") {
    const value = artifacts.dir;
    needs.push({ access: "read", target: value, variable: "KEEL_ARTIFACT_DIR", value });
    if (input.artifacts?.write) {
      needs.push({ access: "write", target: value, variable: "KEEL_ARTIFACT_DIR", value });
    }
  } else if (artifacts?.kind === "s3") {
    const host = urlHostPort(artifacts.endpoint, 443);
    net("KEEL_S3_ENDPOINT", artifacts.endpoint, host);
    // Virtual-hosted requests go to <bucket>.<endpoint host>.
    if (!artifacts.forcePathStyle) {
      net("KEEL_S3_BUCKET", artifacts.bucket, `${artifacts.bucket}.${host}`);
    }
  }
  if (input.database) {
    // The URL may hold a password: the host is what is quoted.
    const target = postgresHostPort(input.database.url);
    net(input.database.variable, target ?? "", target);
  }
  if (input.temporalAddress) net("TEMPORAL_ADDRESS", input.temporalAddress, input.temporalAddress);
  if (input.otlpEndpoint) {
    net("OTEL_EXPORTER_OTLP_ENDPOINT", input.otlpEndpoint, urlHostPort(input.otlpEndpoint, 4318));
  }
  for (const [variable, url] of Object.entries(input.serviceUrls ?? {})) {
    net(variable, url, urlHostPort(url, 443));
  }
  return needs;
}

/** Asks the runtime about one permission (the entry point passes `Deno.permissions.query`). */
export type PermissionQuery = (descriptor: Deno.PermissionDescriptor) => Promise<{
  readonly state: Deno.PermissionState;
}>;

function descriptorOf(need: Need): Deno.PermissionDescriptor {
  return need.access === "net"
    ? { name: "net", host: need.target }
    : { name: need.access, path: need.target };
}

/** The `--allow-*` flag that grants one need. */
export function flagOf(need: Need): string {
  return `--allow-${need.access}=${need.target}`;
}

/**
 * Refuses to start when the process's permissions cannot serve `needs`: one {@linkcode ConfigError}
 * names each variable, its value and the flag it needs. `process` names the permission set.
 */
export async function assertPermissions(
  needs: readonly Need[],
  process: string,
  query: PermissionQuery = (descriptor) => Deno.permissions.query(descriptor),
): Promise<void> {
  const missing = new Map<string, { need: Need; flags: string[] }>();
  for (const need of needs) {
    if ((await query(descriptorOf(need))).state === "granted") continue;
    const key = `${need.variable}\u0000${need.value}`;
    const entry = missing.get(key) ?? { need, flags: [] };
    entry.flags.push(flagOf(need));
    missing.set(key, entry);
  }
  if (missing.size === 0) return;
  const lines = [...missing.values()].map(({ need, flags }) =>
    `  ${need.variable}=${JSON.stringify(need.value)} is outside the ${process}'s permission ` +
    `set: run it with ${flags.join(" ")} added to the set's lists`
  );
  throw new ConfigError(
    `Refusing to start: the configuration needs permissions the process lacks\n${
      lines.join("\n")
    }` +
      `\n  (scripts/dev.sh and \`deno task serve\` add them; \`deno task permissions ${process}\` ` +
      `prints the flags)`,
  );
}

/** A deno.json permission set's lists this module extends. */
export interface PermissionLists {
  /** Paths that may be read. */
  readonly read?: readonly string[] | boolean;
  /** Paths that may be written. */
  readonly write?: readonly string[] | boolean;
  /** Hosts that may be reached. */
  readonly net?: readonly string[] | boolean;
}

function covered(list: readonly string[] | boolean | undefined, need: Need): boolean {
  if (list === true) return true;
  if (!Array.isArray(list)) return false;
  if (need.access === "net") {
    const host = need.target.replace(/:\d+$/, "");
    return list.includes(need.target) || list.includes(host) || list.includes(bracket(host));
  }
  const norm = (p: string) => p.replace(/^\.\//, "").replace(/\/+$/, "");
  const target = norm(need.target);
  return list.some((entry) => {
    const base = norm(entry);
    return base === "." ? !target.startsWith("/") && !target.startsWith("..") : target === base ||
      target.startsWith(`${base}/`);
  });
}

/**
 * The `--allow-read/write/net` flags that serve `needs` on top of `set`: each kind a need is not
 * covered for gets the set's whole list plus the needed entries, since a flag replaces the set's
 * list of its kind (checked on Deno 2.9.6: `-P=worker --allow-read=/x` drops the set's read list).
 * Kinds already covered get no flag. Pure.
 */
export function permissionFlags(set: PermissionLists, needs: readonly Need[]): string[] {
  const flags: string[] = [];
  for (const access of ["read", "write", "net"] as const) {
    const list = set[access];
    const extra = needs.filter((n) => n.access === access && !covered(list, n));
    if (extra.length === 0) continue;
    const base = Array.isArray(list) ? list : [];
    flags.push(
      `--allow-${access}=${[...new Set([...base, ...extra.map((n) => n.target)])].join(",")}`,
    );
  }
  return flags;
}
