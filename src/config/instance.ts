/**
 * The running instance `scripts/dev.sh` records in `.data/instance.json`:
 * where its database, Temporal server, HTTP server, dashboard token and
 * decision key are. The CLI and `deno task audit` fall back on it when
 * neither `DATABASE_URL` nor `TEMPORAL_ADDRESS` is set, so a second terminal
 * needs no variable; every variable that is set still wins over the file.
 * dev.sh removes the file when it stops cleanly.
 *
 * @module
 */
import { z } from "zod";
import { ConfigError, type EnvSnapshot } from "./mod.ts";

/** Where the instance file is, relative to the repository root. */
export const INSTANCE_FILE = ".data/instance.json";

const absolutePath = z.string().min(2).max(4096).startsWith("/", "must be an absolute path");

/** The document scripts/dev.sh writes; unknown keys are refused. */
export const InstanceFileSchema = z.strictObject({
  format: z.literal(1),
  started_by: z.literal("scripts/dev.sh"),
  pid: z.number().int().positive(),
  started_at: z.iso.datetime(),
  root: absolutePath,
  database_url: z.string().regex(/^postgres(ql)?:\/\/\S+$/, "must be a postgres:// URL"),
  db_pool_max: z.number().int().min(1).max(100).optional(),
  temporal_address: z.string().regex(/^[^\s:]+:\d{1,5}$/, "must be host:port"),
  temporal_ui_url: z.url().optional(),
  http_url: z.url().optional(),
  token_file: absolutePath.optional(),
  decision_key_file: absolutePath.optional(),
  artifact_dir: absolutePath,
  policy_file: absolutePath,
});

/** A running instance, as recorded. */
export type Instance = z.infer<typeof InstanceFileSchema>;

/**
 * Parses the instance file's text; `where` names the file in errors, which
 * quote each bad field's value (the file holds no secret: only paths to them).
 */
export function parseInstance(text: string, where: string): Instance {
  const fix = `it is written by scripts/dev.sh: restart it, or delete the file`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`${where} is not JSON (${(cause as Error).message}); ${fix}`, { cause });
  }
  const result = InstanceFileSchema.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    let at: unknown = value;
    for (const key of issue.path) at = (at as Record<PropertyKey, unknown> | undefined)?.[key];
    const name = issue.path.length === 0 ? "(document)" : issue.path.join(".");
    const quoted = at === undefined ? "" : `=${JSON.stringify(at)}`;
    return `  ${name}${quoted}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid instance file ${where} (${fix}):\n${lines.join("\n")}`, {
    cause: result.error,
  });
}

/** Reads the instance file under `root`; undefined when there is none. */
export async function readInstance(root: URL): Promise<Instance | undefined> {
  const url = new URL(INSTANCE_FILE, root);
  let text: string;
  try {
    text = await Deno.readTextFile(url);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigError(`cannot read ${url.pathname}: ${(cause as Error).message}`, { cause });
  }
  return parseInstance(text, url.pathname);
}

/** The environment an entry point runs with, and the instance it fell back on, if any. */
export interface InstanceEnv {
  /** The explicit environment, completed from the instance when it applies. */
  readonly env: EnvSnapshot;
  /** The instance used, when the environment named no database and no Temporal server. */
  readonly instance?: Instance;
}

/** Whether the environment names a deployment of its own, so the instance file does not apply. */
export function namesDeployment(env: EnvSnapshot): boolean {
  return env.DATABASE_URL !== undefined || env.TEMPORAL_ADDRESS !== undefined;
}

/**
 * Completes `env` from the instance file under `root` when the environment
 * names neither a database nor a Temporal server: each variable the file
 * provides and the environment leaves unset is taken from it. With
 * `decisionKey`, an unset `KEEL_DECISION_KEY` is read from the key file
 * dev.sh records. Only the variables in `names` are filled.
 */
export async function withInstance(
  env: EnvSnapshot,
  options: { root: URL; names: readonly string[]; decisionKey?: boolean },
): Promise<InstanceEnv> {
  if (namesDeployment(env)) return { env };
  const instance = await readInstance(options.root);
  if (instance === undefined) return { env };
  const provided: Record<string, string | undefined> = {
    DATABASE_URL: instance.database_url,
    KEEL_DB_POOL_MAX: instance.db_pool_max?.toString(),
    TEMPORAL_ADDRESS: instance.temporal_address,
    KEEL_ARTIFACT_DIR: instance.artifact_dir,
    KEEL_POLICY_FILE: instance.policy_file,
  };
  const filled: Record<string, string | undefined> = { ...env };
  for (const name of options.names) {
    if (filled[name] === undefined && provided[name] !== undefined) filled[name] = provided[name];
  }
  const keyFile = instance.decision_key_file;
  if (options.decisionKey && filled.KEEL_DECISION_KEY === undefined && keyFile !== undefined) {
    try {
      filled.KEEL_DECISION_KEY = (await Deno.readTextFile(keyFile)).trim();
    } catch (cause) {
      throw new ConfigError(
        `cannot read the decision key file "${keyFile}" named by ${instance.root}/${INSTANCE_FILE}: ${
          (cause as Error).message
        }`,
        { cause },
      );
    }
  }
  return { env: filled, instance };
}

function hostOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return "<unparseable URL>";
  }
}

/** One line saying which instance a process talks to (no credentials). */
export function describeInstance(instance: Instance): string {
  return `the dev instance in ${INSTANCE_FILE} (scripts/dev.sh pid ${instance.pid}): ` +
    `database ${hostOf(instance.database_url)}, Temporal ${instance.temporal_address}`;
}

/**
 * What to add to a "cannot reach" message: a recorded instance that does not
 * answer has probably stopped without removing its file.
 */
export function unreachableHint(instance: Instance | undefined): string {
  if (instance === undefined) {
    return `DATABASE_URL and TEMPORAL_ADDRESS are unset and no instance is recorded in ` +
      `${INSTANCE_FILE}: start one with \`bash scripts/dev.sh\`, or set them`;
  }
  return `${INSTANCE_FILE} names scripts/dev.sh pid ${instance.pid}, started ` +
    `${instance.started_at}, which does not answer: if it no longer runs, the file is stale; ` +
    `start it again with \`bash scripts/dev.sh\``;
}
