/**
 * Check 7, module permissions: every net host, read or write path and env name
 * an execution module declares is held by the worker process, whose
 * permissions are the `worker` set of `deno.json`. A module's sandbox gets at
 * most its parent's permissions, and at run time `createRegistry(modules,
 * { held })` refuses a module that declares more; this check says so before
 * the worker starts.
 *
 * Coverage follows Deno's rules: a net entry `host` covers `host` on every
 * port, `host:port` that port only, `*.domain` the domain and its subdomains;
 * a path covers itself and everything under it (relative paths resolve
 * against the project root, as Deno resolves the config file's); an env entry
 * ending in `*` covers every name with that prefix; `true` covers everything
 * of its kind. In the `{ allow, deny }` form, a denied value is not held.
 *
 * {@linkcode checkModulePermissions} is the pure comparison;
 * {@linkcode readDenoConfig} and {@linkcode readDeclaredModules} read its
 * inputs.
 *
 * @module
 */
import { posix } from "node:path";
import { fileURLToPath } from "node:url";
import type { ExecutionModule, ModulePermissions } from "../execution/module.ts";
import { splitHost } from "../models/permissions.ts";
import type { Location } from "./model_locations.ts";
import { readOptionalText } from "./source_files.ts";
import type { Violation } from "./violation.ts";

/** The permission set in `deno.json` that `deno task worker` runs with. */
export const WORKER_PERMISSION_SET = "worker";

/** The permission kinds a module declares, in the order they are checked. */
export const DECLARED_KINDS = ["net", "read", "write", "env"] as const;

/** One of {@linkcode DECLARED_KINDS}. */
export type DeclaredKind = typeof DECLARED_KINDS[number];

/** A module as the check sees it: its type, its declaration and, if known, its source. */
export interface DeclaredModule {
  /** The directive type it serves. */
  readonly type: string;
  /** What it declares. */
  readonly permissions: ModulePermissions;
  /** The file that defines it, relative to the root; violations point here. */
  readonly path?: string;
  /** The text of `path`, to point at the line of each declared value. */
  readonly text?: string;
}

/** The project's Deno config file, as read. */
export interface ConfigFile {
  /** Path relative to the root: `deno.json` or `deno.jsonc`. */
  readonly path: string;
  /** Its text (JSON with comments allowed). */
  readonly text: string;
}

/** Where {@linkcode checkModulePermissions} resolves paths and points at the config. */
export interface ModulePermissionsOptions {
  /** The project root that relative paths resolve against (absolute). */
  readonly root: string;
  /** The config file's path relative to the root, for messages; default `deno.json`. */
  readonly configPath?: string;
  /** Where the worker permission set is written; default: the config file, no line. */
  readonly workerAt?: Location;
}

/** What {@linkcode checkModulePermissions} found. */
export interface ModulePermissionsReport {
  /** Every declared value the worker does not hold, and every malformed worker entry. */
  readonly violations: Violation[];
  /** How many modules were checked. */
  readonly modules: number;
  /** How many declared values (net hosts, paths, env names) were checked. */
  readonly declared: number;
}

/** What a worker entry of one kind grants: `true` (all), or an allow list, minus a deny list. */
interface Grant {
  readonly allow: true | readonly string[];
  readonly deny: true | readonly string[];
}

const NONE: Grant = { allow: [], deny: [] };

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** Reads `true`, `false`, a list, or `{ allow, deny }`; undefined when the shape is wrong. */
function grantOf(value: unknown): Grant | undefined {
  const side = (entry: unknown): true | string[] | undefined =>
    entry === undefined || entry === false
      ? []
      : entry === true
      ? true
      : isStringList(entry)
      ? entry
      : undefined;
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const allow = side(record.allow);
    const deny = side(record.deny);
    return allow === undefined || deny === undefined ? undefined : { allow, deny };
  }
  const allow = side(value);
  return allow === undefined ? undefined : { allow, deny: [] };
}

function normalizePath(path: string, root: string): string {
  const full = path.startsWith("/") ? path : posix.join(root, path);
  const normal = posix.normalize(full);
  return normal.length > 1 ? normal.replace(/\/+$/, "") : normal;
}

/** Whether `dir` is `path` or one of its parent directories (both normalized). */
function within(path: string, dir: string): boolean {
  if (path === dir) return true;
  if (dir === "/") return path.startsWith("/");
  if (dir === ".") return !path.startsWith("/") && path !== ".." && !path.startsWith("../");
  return path.startsWith(`${dir}/`);
}

/** `*.example.com` as its domain, `example.com`; undefined for a plain host. */
function wildcardDomain(host: string): string | undefined {
  return host.startsWith("*.") ? host.slice(2) : undefined;
}

/** Whether the host part `rule` covers the host part `target` (lower case). */
function hostCovers(rule: string, target: string): boolean {
  const ruleDomain = wildcardDomain(rule);
  if (ruleDomain === undefined) return rule === target;
  const targetName = wildcardDomain(target) ?? target;
  return targetName === ruleDomain || targetName.endsWith(`.${ruleDomain}`);
}

/** Whether `rule` covers the whole of `target` (net entries). */
function netCovers(rule: string, target: string): boolean {
  const r = splitHost(rule.toLowerCase());
  const t = splitHost(target.toLowerCase());
  return hostCovers(r.host, t.host) && (r.port === undefined || r.port === t.port);
}

/** Whether `rule` touches any part of `target` (net deny entries). */
function netOverlaps(rule: string, target: string): boolean {
  const r = splitHost(rule.toLowerCase());
  const t = splitHost(target.toLowerCase());
  return (hostCovers(r.host, t.host) || hostCovers(t.host, r.host)) &&
    (r.port === undefined || t.port === undefined || r.port === t.port);
}

/** Whether the env entry `rule` covers `target` (either may end in `*`, a prefix). */
function envCovers(rule: string, target: string): boolean {
  if (!rule.endsWith("*")) return rule === target;
  const prefix = rule.slice(0, -1);
  return target.startsWith(prefix);
}

function envOverlaps(rule: string, target: string): boolean {
  if (!target.endsWith("*")) return envCovers(rule, target);
  return envCovers(target, rule.endsWith("*") ? rule.slice(0, -1) : rule) ||
    envCovers(rule, target);
}

/** How `kind`'s grant treats `value`: held, not allowed, or denied. */
function verdict(
  kind: DeclaredKind,
  value: string,
  grant: Grant,
  root: string,
): "held" | "missing" | "denied" {
  let covers: (rule: string) => boolean;
  let overlaps: (rule: string) => boolean;
  if (kind === "net") {
    covers = (rule) => netCovers(rule, value);
    overlaps = (rule) => netOverlaps(rule, value);
  } else if (kind === "env") {
    covers = (rule) => envCovers(rule, value);
    overlaps = (rule) => envOverlaps(rule, value);
  } else {
    const path = normalizePath(value, root);
    covers = (rule) => within(path, normalizePath(rule, root));
    // Only a deny of the path or a parent takes it away: Deno still reports
    // a directory as granted when something under it is denied.
    overlaps = covers;
  }
  const allowed = grant.allow === true || grant.allow.some(covers);
  if (!allowed) return "missing";
  const denied = grant.deny === true || grant.deny.some(overlaps);
  return denied ? "denied" : "held";
}

function positionOf(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  return { line: before.split("\n").length, col: offset - before.lastIndexOf("\n") };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The first match of `pattern` at or after `from`; its offset, or -1. */
function indexFrom(text: string, pattern: RegExp, from: number): number {
  const match = new RegExp(pattern.source, "g");
  match.lastIndex = from;
  const found = match.exec(text);
  return found === null ? -1 : found.index;
}

/**
 * Where `module` declares `value` of `kind`: the quoted value after its
 * `permissions:` key (after its `type:`), else the kind's key, else the
 * `permissions:` key, else the file; without a file, `options.fallback`.
 * Best effort, from the source text.
 */
function locateDeclaration(
  module: DeclaredModule,
  kind: DeclaredKind,
  value: string,
  options: { fallback: string },
): Location {
  const { path, text } = module;
  if (path === undefined) return { path: options.fallback };
  if (text === undefined) return { path };
  const quoted = new RegExp(`["'\`]${escapeRegExp(value)}["'\`]`);
  const typeAt = Math.max(
    0,
    indexFrom(text, new RegExp(`\\btype\\s*:\\s*["'\`]${escapeRegExp(module.type)}["'\`]`), 0),
  );
  const permissionsAt = indexFrom(text, /\bpermissions\s*:/, typeAt);
  const start = permissionsAt === -1 ? typeAt : permissionsAt;
  const kindAt = indexFrom(text, new RegExp(`\\b${kind}\\s*:`), start);
  for (const from of [kindAt, start, 0]) {
    if (from === -1) continue;
    const at = indexFrom(text, quoted, from);
    if (at !== -1) return { path, ...positionOf(text, at) };
  }
  const fallback = [kindAt, permissionsAt].find((at) => at !== -1);
  return fallback === undefined ? { path } : { path, ...positionOf(text, fallback) };
}

function describeValue(kind: DeclaredKind, value: string, root: string): string {
  if (kind !== "read" && kind !== "write") return `"${value}"`;
  const resolved = normalizePath(value, root);
  return resolved === value ? `"${value}"` : `"${value}" (${resolved})`;
}

/**
 * Compares each module's declared net hosts, read and write paths and env
 * names with `worker`, the `permissions.worker` value of deno.json (any JSON
 * value: a wrong shape is itself a violation). Each value the worker does
 * not hold is a violation naming the module type, the kind and the value, at
 * the declaration when the module's source is given. Pure.
 */
export function checkModulePermissions(
  worker: unknown,
  modules: readonly DeclaredModule[],
  options: ModulePermissionsOptions,
): ModulePermissionsReport {
  const configPath = options.configPath ?? "deno.json";
  const workerAt = options.workerAt ?? { path: configPath };
  const setName = `permissions.${WORKER_PERMISSION_SET}`;
  const violations: Violation[] = [];
  const grants: Record<DeclaredKind, Grant> = { net: NONE, read: NONE, write: NONE, env: NONE };
  if (worker === undefined) {
    violations.push({
      ...workerAt,
      message: `${configPath} has no \`${setName}\` permission set, which the worker process ` +
        "runs with (`deno run -P=worker`); add one that holds what the modules declare",
    });
  } else if (typeof worker !== "object" || worker === null || Array.isArray(worker)) {
    violations.push({
      ...workerAt,
      message: `\`${setName}\` in ${configPath} must be an object of permission kinds, ` +
        `found ${JSON.stringify(worker)}`,
    });
  } else {
    for (const kind of DECLARED_KINDS) {
      const entry = (worker as Record<string, unknown>)[kind];
      const grant = grantOf(entry);
      if (grant === undefined) {
        violations.push({
          ...workerAt,
          message: `\`${setName}.${kind}\` in ${configPath} must be true, false, a list of ` +
            `strings or { allow, deny }, found ${JSON.stringify(entry)}`,
        });
      } else {
        grants[kind] = grant;
      }
    }
  }

  let declared = 0;
  for (const module of modules) {
    for (const kind of DECLARED_KINDS) {
      for (const value of module.permissions[kind] ?? []) {
        declared++;
        const result = verdict(kind, value, grants[kind], options.root);
        if (result === "held") continue;
        const why = result === "denied"
          ? `which \`${setName}.${kind}\` in ${configPath} denies`
          : `which \`${setName}.${kind}\` in ${configPath} does not cover`;
        violations.push({
          ...locateDeclaration(module, kind, value, { fallback: configPath }),
          message:
            `module "${module.type}" declares ${kind} ${
              describeValue(kind, value, options.root)
            }, ${why} (a module's sandbox gets at most the worker's permissions): widen ` +
            `\`${setName}\` in ${configPath} or narrow the module's declaration`,
        });
      }
    }
  }
  return { violations, modules: modules.length, declared };
}

/**
 * Blanks the comments of JSON-with-comments text and the trailing commas
 * before `}` or `]`, keeping every other character (and so every offset).
 */
function blankJsonc(text: string): string {
  const out = text.split("");
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      i++;
    } else if (c === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      blank(i, end === -1 ? text.length : end);
      i = end === -1 ? text.length : end;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      blank(i, end === -1 ? text.length : end + 2);
      i = end === -1 ? text.length : end + 2;
    } else {
      i++;
    }
  }
  // Trailing commas: outside strings, followed (after blanks) by } or ].
  const blanked = out.join("");
  let inString = false;
  for (let k = 0; k < blanked.length; k++) {
    const c = blanked[k];
    if (inString) {
      if (c === "\\") k++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === ",") {
      const next = /\S/.exec(blanked.slice(k + 1));
      if (next && (next[0] === "}" || next[0] === "]")) out[k] = " ";
    }
  }
  return out.join("");
}

/**
 * Reads `permissions.worker` from the config text, and where it is written.
 * A config that does not parse is a violation at its first line. Pure.
 */
export function workerPermissionsOf(
  config: ConfigFile,
): { worker: unknown; at: Location } | { violation: Violation } {
  const text = blankJsonc(config.text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return {
      violation: {
        path: config.path,
        line: 1,
        col: 1,
        message: `cannot parse ${config.path}: ${
          error instanceof Error ? error.message : String(error)
        }`,
      },
    };
  }
  const permissions = typeof parsed === "object" && parsed !== null
    ? (parsed as Record<string, unknown>).permissions
    : undefined;
  const worker = typeof permissions === "object" && permissions !== null
    ? (permissions as Record<string, unknown>)[WORKER_PERMISSION_SET]
    : undefined;
  const permissionsAt = indexFrom(text, /"permissions"\s*:/, 0);
  const workerAt = permissionsAt === -1
    ? -1
    : indexFrom(text, new RegExp(`"${WORKER_PERMISSION_SET}"\\s*:`), permissionsAt);
  const at = workerAt !== -1
    ? positionOf(text, workerAt)
    : permissionsAt !== -1
    ? positionOf(text, permissionsAt)
    : undefined;
  return { worker, at: { path: config.path, ...at } };
}

/** Reads `<root>/deno.json` (else `<root>/deno.jsonc`); undefined when neither exists. */
export async function readDenoConfig(root: string): Promise<ConfigFile | undefined> {
  for (const path of ["deno.json", "deno.jsonc"]) {
    const text = await readOptionalText(root, path);
    if (text !== undefined) return { path, text };
  }
  return undefined;
}

/** This checkout's root, where the modules in the registry are loaded from. */
const CHECKOUT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/**
 * Each module with the file that defines it (its `entry`) relative to
 * `rootDir` (or, when outside it, to this checkout), and that file's text
 * when it is a readable local file. The text is the loaded module's own, also
 * when `rootDir` is another tree.
 */
export async function readDeclaredModules(
  modules: readonly ExecutionModule[],
  rootDir: string,
): Promise<DeclaredModule[]> {
  const declared: DeclaredModule[] = [];
  for (const module of modules) {
    const base = { type: module.type, permissions: module.permissions };
    if (!module.entry.startsWith("file:")) {
      declared.push({ ...base, path: module.entry });
      continue;
    }
    const file = fileURLToPath(module.entry);
    const fromRoot = posix.relative(rootDir, file);
    const fromCheckout = posix.relative(CHECKOUT, file);
    const path = !fromRoot.startsWith("../")
      ? fromRoot
      : !fromCheckout.startsWith("../")
      ? fromCheckout
      : file;
    let text: string | undefined;
    try {
      text = await Deno.readTextFile(file);
    } catch {
      text = undefined;
    }
    declared.push(text === undefined ? { ...base, path } : { ...base, path, text });
  }
  return declared;
}
