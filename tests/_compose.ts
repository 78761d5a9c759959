/**
 * Loads `docker-compose.yml` with the real compose loader (compose-go, through
 * `tools/compose_check`, ADR 0021) and reads the Dockerfile, for
 * `tests/compose_test.ts`.
 *
 * @module
 */
import { assert } from "@std/assert";

/** The repository root. */
export const ROOT: URL = new URL("../", import.meta.url);

/** The variables the compose file requires, with throwaway values that pass. */
export const REQUIRED_ENV: Readonly<Record<string, string>> = {
  POSTGRES_PASSWORD: "superuser-5f0c2a",
  KEEL_APP_PASSWORD: "keel-app-9d41e7",
  TEMPORAL_DB_PASSWORD: "temporal-3b8e60",
  KEEL_DECISION_KEY: "d".repeat(64),
};

/** A service of the normalized model (the keys these tests read). */
export interface ComposeService {
  readonly image?: string;
  readonly build?: { readonly context: string; readonly dockerfile: string };
  readonly command?: readonly string[] | null;
  readonly environment?: Record<string, string | null>;
  readonly depends_on?: Record<string, { readonly condition: string; readonly required: boolean }>;
  readonly healthcheck?: { readonly test?: readonly string[]; readonly disable?: boolean };
  readonly restart?: string;
  readonly volumes?: readonly {
    readonly type: string;
    readonly source: string;
    readonly target: string;
    readonly read_only?: boolean;
  }[];
  readonly ports?: readonly {
    readonly host_ip?: string;
    readonly target: number;
    readonly published?: string;
  }[];
}

/** The normalized project compose-go prints. */
export interface ComposeProject {
  readonly name: string;
  readonly services: Record<string, ComposeService>;
  readonly volumes?: Record<string, unknown>;
}

let checker: string | undefined;

/**
 * The checker binary: `KEEL_COMPOSE_CHECK_BIN` (scripts/test.sh exports it),
 * else whatever `keel_need_compose_check` of scripts/bootstrap.sh finds or builds.
 */
export async function composeCheckBinary(): Promise<string> {
  if (checker !== undefined) return checker;
  const explicit = Deno.env.get("KEEL_COMPOSE_CHECK_BIN");
  if (explicit) return checker = explicit;
  const output = await new Deno.Command("bash", {
    args: [
      "-c",
      'source scripts/bootstrap.sh && keel_need_compose_check && echo "$keel_compose_check_bin"',
    ],
    cwd: ROOT.pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert(output.code === 0, `keel_need_compose_check failed: ${stderr}`);
  return checker = new TextDecoder().decode(output.stdout).trim();
}

/** What one load printed. */
export type LoadResult =
  | { readonly ok: true; readonly project: ComposeProject }
  | { readonly ok: false; readonly error: string };

/** Loads the compose file seeing only `env` (no `.env` file, no inherited variables). */
export async function loadCompose(env: Record<string, string>): Promise<LoadResult> {
  const output = await new Deno.Command(await composeCheckBinary(), {
    args: [new URL("docker-compose.yml", ROOT).pathname],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  if (output.code !== 0) return { ok: false, error: stderr };
  return { ok: true, project: JSON.parse(new TextDecoder().decode(output.stdout)) };
}

/** Loads the compose file with every required variable set; fails the test otherwise. */
export async function loadProject(): Promise<ComposeProject> {
  const result = await loadCompose({ ...REQUIRED_ENV });
  assert(result.ok, `docker-compose.yml does not load: ${result.ok ? "" : result.error}`);
  return result.project;
}

/** True when `image` names an exact tag or digest, not `latest` and not interpolated. */
export function isPinned(image: string): boolean {
  if (image.includes("$")) return false;
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const lastPart = image.slice(image.lastIndexOf("/") + 1);
  const colon = lastPart.lastIndexOf(":");
  if (colon < 0) return false;
  const tag = lastPart.slice(colon + 1);
  return tag !== "" && tag !== "latest";
}

/** True when a deno command line grants everything instead of a named set or explicit flags. */
export function grantsAll(argv: readonly string[]): boolean {
  return argv.some((word) => word === "-A" || word === "--allow-all" || /^-[a-zA-Z]*A/.test(word));
}

/** The permission set a deno command line names with `-P=`, if any. */
export function permissionSet(argv: readonly string[]): string | undefined {
  const flag = argv.find((word) => /^(-P=|--permission-set=)/.test(word));
  return flag?.slice(flag.indexOf("=") + 1);
}

/** One Dockerfile instruction, continuation lines joined; `line` is 1-based. */
export interface Instruction {
  readonly line: number;
  readonly keyword: string;
  readonly args: string;
}

/** Splits a Dockerfile into instructions. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let body = (lines[i] ?? "").trim();
    if (body === "" || body.startsWith("#")) continue;
    while (body.endsWith("\\") && i + 1 < lines.length) {
      body = `${body.slice(0, -1)} ${(lines[++i] ?? "").trim()}`;
    }
    const [keyword = "", ...rest] = body.split(/\s+/);
    instructions.push({ line: start + 1, keyword: keyword.toUpperCase(), args: rest.join(" ") });
  }
  return instructions;
}

/** The words of a CMD/RUN argument, from the JSON (exec) form or the shell form. */
export function words(args: string): string[] {
  if (args.startsWith("[")) {
    const parsed: unknown = JSON.parse(args);
    assert(Array.isArray(parsed), `not a JSON array: ${args}`);
    return parsed.map(String);
  }
  return args.split(/\s+/);
}

/** Copy sources: every word but the last, ignoring `--flag` options. */
export function copySources(args: string): string[] {
  const parts = words(args).filter((word) => !word.startsWith("--"));
  return parts.slice(0, -1).map((part) => part.replace(/^\.\//, "").replace(/\/$/, ""));
}

/** Names in `.env.example`: `NAME=...` lines and commented `# NAME=...` lines. */
export function envExampleNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const match = /^\s*(?:#\s*)?([A-Z][A-Z0-9_]*)=/.exec(line);
    if (match?.[1]) names.add(match[1]);
  }
  return names;
}
