import { z } from "zod";

const HOST_PATTERN = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;
const list = (item: z.ZodString) => z.array(item).max(50);

/**
 * A permission set as stored with a policy verdict and given to a module's
 * process: net hosts (`host` or `host:port`), read and write paths, env
 * names. An absent list means none.
 */
export const PermissionSet = z.strictObject({
  net: list(z.string().regex(HOST_PATTERN, { message: "must be host or host:port" })).optional(),
  read: list(z.string().min(1).max(1000)).optional(),
  write: list(z.string().min(1).max(1000)).optional(),
  env: list(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).optional(),
});

/** A permission set; see {@linkcode PermissionSet}. */
export type PermissionSet = z.output<typeof PermissionSet>;

/**
 * What a module may touch, as Deno permission descriptors. Every list is empty
 * by default: a module that declares nothing gets a process with no read,
 * write, env, net, run, ffi or sys access at all.
 *
 * @example A module that calls one API
 * ```ts
 * const permissions: ModulePermissions = { net: ["api.example.com:443"] };
 * ```
 */
export interface ModulePermissions {
  /** Hosts, `host` or `host:port` (as for `--allow-net`). */
  readonly net?: readonly string[] | undefined;
  /** Paths the module may read. */
  readonly read?: readonly string[] | undefined;
  /** Paths the module may write. */
  readonly write?: readonly string[] | undefined;
  /** Environment variable names the module may read. */
  readonly env?: readonly string[] | undefined;
}

/** Splits `host[:port]` (or `[v6]:port`) into its parts; the port is `undefined` when absent. */
export function splitHost(entry: string): { host: string; port: string | undefined } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(entry);
  return { host: match?.[1] ?? entry, port: match?.[2] };
}

/**
 * The net entries both lists allow: same host, and the narrower port (an
 * entry without a port allows every port). `["127.0.0.1"]` and
 * `["127.0.0.1:8080", "example.com"]` give `["127.0.0.1:8080"]`.
 */
export function intersectHosts(a: readonly string[], b: readonly string[]): string[] {
  const out = new Set<string>();
  for (const left of a) {
    const l = splitHost(left.toLowerCase());
    for (const right of b) {
      const r = splitHost(right.toLowerCase());
      if (l.host !== r.host) continue;
      if (l.port !== undefined && r.port !== undefined && l.port !== r.port) continue;
      const port = l.port ?? r.port;
      out.add(port === undefined ? l.host : `${l.host}:${port}`);
    }
  }
  return [...out].sort();
}

/** Whether `host:port` is allowed by one of `allowed` (an entry without a port allows all). */
export function hostAllowed(entry: string, allowed: readonly string[]): boolean {
  const target = splitHost(entry.toLowerCase());
  return allowed.some((item) => {
    const rule = splitHost(item.toLowerCase());
    return rule.host === target.host && (rule.port === undefined || rule.port === target.port);
  });
}

/**
 * The narrower of two permission sets: hosts by {@linkcode intersectHosts},
 * paths and names only when both hold them exactly.
 */
export function intersectPermissions(
  a: ModulePermissions,
  b: ModulePermissions,
): PermissionSet {
  const same = (x: readonly string[] = [], y: readonly string[] = []) =>
    [...new Set(x.filter((item) => y.includes(item)))].sort();
  const result: { net?: string[]; read?: string[]; write?: string[]; env?: string[] } = {};
  const net = intersectHosts(a.net ?? [], b.net ?? []);
  if (net.length > 0) result.net = net;
  const read = same(a.read, b.read);
  if (read.length > 0) result.read = read;
  const write = same(a.write, b.write);
  if (write.length > 0) result.write = write;
  const env = same(a.env, b.env);
  if (env.length > 0) result.env = env;
  return result;
}
