/**
 * How `tests/handoff_test.ts` follows `docs/handoff.md` in a copy of a fork:
 * the guide's tagged code blocks, and the two files a fork already has and
 * the guide adds to rather than replaces, the registration point and the
 * fork's policy file.
 *
 * @module
 */

/** The registration point: `FORK_MODULES` in this file lists a fork's modules. */
export const REGISTRATION_POINT = "src/execution/modules/mod.ts";

/** The fork's policy file the guide creates, or adds its entries to. */
export const FORK_POLICY = "policies/fork.json";

/** A code block of the guide tagged with the file it holds: ```lang file=path … ```. */
export interface GuideBlock {
  /** The path it is written to, relative to the repository's root. */
  readonly path: string;
  /** The block's text, ending with a newline. */
  readonly text: string;
}

/** Thrown when a file the guide adds to does not have the shape the guide describes. */
export class GuideMergeError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GuideMergeError";
  }
}

/** The guide's tagged code blocks, in order. */
export function guideBlocks(markdown: string): GuideBlock[] {
  return [...markdown.matchAll(/^```\w+ file=(\S+)\n([\s\S]*?)^```$/gm)].map((m) => ({
    path: m[1]!,
    text: m[2]!,
  }));
}

const FORK_LIST = /(export const FORK_MODULES\b[^=]*=\s*)\[([^\]]*)\]/;
const IMPORT_LINE = /^import\b[^;]*;$/gm;

function forkList(text: string, what: string): { match: RegExpMatchArray; names: string[] } {
  const match = text.match(FORK_LIST);
  if (!match) {
    throw new GuideMergeError(
      `cannot add to ${what}: it has no \`export const FORK_MODULES = [...]\` list`,
    );
  }
  const names = match[2]!.split(",").map((name) => name.trim()).filter((name) => name !== "");
  return { match, names };
}

/**
 * Adds the registration the guide shows (its imports and its `FORK_MODULES`
 * entries) to the registration point as a fork has it: the fork's own
 * imports and modules stay, the guide's are appended once. Applied to the
 * file as shipped (an empty list), it gives the guide's block exactly;
 * applied twice, it changes nothing the second time.
 *
 * @throws {GuideMergeError} when either text has no `FORK_MODULES` list.
 */
export function addRegistration(current: string, block: string): string {
  const wanted = forkList(block, "the guide's registration block");
  const present = forkList(current, REGISTRATION_POINT);
  const imports = [...block.matchAll(IMPORT_LINE)].map((m) => m[0]);
  const missing = imports.filter((line) => !current.includes(line));
  const names = [...present.names];
  for (const name of wanted.names) if (!names.includes(name)) names.push(name);
  let text = current.replace(FORK_LIST, `$1[${names.join(", ")}]`);
  if (missing.length > 0) {
    const existing = [...text.matchAll(IMPORT_LINE)];
    const last = existing.at(-1);
    const at = last === undefined ? 0 : last.index! + last[0].length + 1;
    text = text.slice(0, at) + missing.map((line) => `${line}\n`).join("") + text.slice(at);
  }
  return text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function merged(current: unknown, added: unknown): unknown {
  if (Array.isArray(current) && Array.isArray(added)) {
    const out = [...current];
    for (const item of added) {
      if (!out.some((have) => JSON.stringify(have) === JSON.stringify(item))) out.push(item);
    }
    return out;
  }
  if (isObject(current) && isObject(added)) {
    const out: Record<string, unknown> = { ...current };
    for (const [key, value] of Object.entries(added)) {
      out[key] = key in current ? merged(current[key], value) : value;
    }
    return out;
  }
  return current;
}

/**
 * Adds the guide's policy entries to a fork's existing policy file: lists
 * gain the guide's items they lack, maps gain its keys, and every value the
 * fork already set (its name, version, ceilings of its own types) is kept.
 * With no policy file yet, the result is the guide's block as written.
 *
 * @throws {GuideMergeError} when the existing file is not a JSON object.
 */
export function addPolicyEntries(current: string | undefined, block: string): string {
  if (current === undefined) return block;
  let parsed: unknown;
  try {
    parsed = JSON.parse(current);
  } catch (error) {
    throw new GuideMergeError(`cannot add to ${FORK_POLICY}: it is not JSON`, { cause: error });
  }
  if (!isObject(parsed)) {
    throw new GuideMergeError(`cannot add to ${FORK_POLICY}: it is not a JSON object`);
  }
  return JSON.stringify(merged(parsed, JSON.parse(block)), null, 2) + "\n";
}
