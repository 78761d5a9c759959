/**
 * Renders `.env.example` and `docs/configuration.md` from the sections, and
 * lists how committed copies differ from them, naming each variable. Pure.
 *
 * @module
 */
import type { EnvSection } from "./_env.ts";

/** Where the example environment file lives, relative to the repository root. */
export const ENV_EXAMPLE_PATH = ".env.example";
/** Where the generated table of variables lives. */
export const CONFIG_DOC_PATH = "docs/configuration.md";

const HEADER = `# Every environment variable Keel reads. Nothing is required. The database
# URLs below are the defaults of the processes run on their own (the system
# PostgreSQL on 127.0.0.1:5432); \`bash scripts/dev.sh\` sets its own when it
# starts a project-local database (docs/running.md). While dev.sh runs, it
# records them in .data/instance.json, and bin/keel, \`deno task keel\` and
# \`deno task audit\` use that file when DATABASE_URL and TEMPORAL_ADDRESS are
# both unset (a variable that is set wins): a second terminal needs none.
#
# Generated from the sections in src/config/ by \`deno task env:example\`;
# \`deno task validate\` fails when this file differs. Edit the sections, not this file.
`;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

function comment(text: string): string[] {
  return wrap(text, 98).map((line) => `# ${line}`);
}

/** A section rendered in `.env.example`; `commented` shows every variable commented out. */
export interface ExampleSection {
  /** The section. */
  readonly section: EnvSection;
  /** Read by scripts only: shown as `# NAME=default`. */
  readonly commented?: boolean;
}

/**
 * The text of `.env.example`: each variable's description as comments, then `NAME=default`, or
 * `# NAME=` when it has no default.
 */
export function envExampleText(sections: readonly ExampleSection[]): string {
  const out = [HEADER];
  for (const { section, commented } of sections) {
    out.push(`# --- ${section.title} ---`);
    if (section.intro) out.push(...comment(section.intro));
    for (const [name, v] of Object.entries(section.vars)) {
      out.push(...comment(v.description));
      const line = `${name}=${v.default ?? ""}`;
      out.push(commented || v.default === undefined ? `# ${line}` : line);
    }
    out.push("");
  }
  return out.join("\n").replace(/\n+$/, "\n");
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** The text of `docs/configuration.md`: one table per section. */
export function configDocText(sections: readonly ExampleSection[]): string {
  const out = [
    "# Configuration",
    "",
    "Every environment variable Keel reads, by section. Generated from the sections in",
    "`src/config/` by `deno task env:example` (which also writes `.env.example`);",
    "`deno task validate` fails when this file or `.env.example` differs. Nothing is required.",
    "",
  ];
  for (const { section } of sections) {
    out.push(`## ${section.title}`, "");
    if (section.intro) out.push(section.intro, "");
    out.push("| variable | default | description |", "| --- | --- | --- |");
    for (const [name, v] of Object.entries(section.vars)) {
      const fallback = v.default === undefined ? "unset" : `\`${cell(v.default)}\``;
      out.push(`| \`${name}\` | ${fallback} | ${cell(v.description)} |`);
    }
    out.push("");
  }
  return out.join("\n");
}

/** One variable as a committed file shows it. */
interface Entry {
  readonly line: number;
  readonly text: string;
}

function entriesOf(text: string, pattern: RegExp): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  let block: string[] = [];
  text.split("\n").forEach((line, index) => {
    const match = pattern.exec(line);
    if (match?.[1]) {
      entries.set(match[1], { line: index + 1, text: [...block, line].join("\n") });
      block = [];
    } else if (line.startsWith("# ---") || line.trim() === "") block = [];
    else block.push(line);
  });
  return entries;
}

/** A difference between a committed file and the generated one. */
export interface Drift {
  /** 1-based line in the committed file, when the problem sits on one. */
  readonly line?: number;
  /** What differs, naming the variable. */
  readonly message: string;
}

/**
 * How `committed` differs from `generated`, one entry per variable that is missing, stale or
 * shown differently (value or description); a last entry when only other text differs.
 */
export function driftOf(committed: string, generated: string, kind: "env" | "doc"): Drift[] {
  if (committed === generated) return [];
  if (committed === "") return [{ message: "the file is missing" }];
  const pattern = kind === "env" ? /^(?:# )?([A-Z][A-Z0-9_]*)=/ : /^\| `([A-Z][A-Z0-9_]*)` \|/;
  const want = entriesOf(generated, pattern);
  const have = entriesOf(committed, pattern);
  const drifts: Drift[] = [];
  for (const [name, entry] of want) {
    const found = have.get(name);
    if (found === undefined) {
      drifts.push({ message: `${name} is declared in src/config/ but missing here` });
    } else if (found.text !== entry.text) {
      const shown = found.text.split("\n").at(-1) ?? "";
      const expected = entry.text.split("\n").at(-1) ?? "";
      drifts.push({
        line: found.line,
        message: shown === expected
          ? `${name}: its description differs from the one in src/config/`
          : `${name}: shows ${JSON.stringify(shown)}, src/config/ gives ${
            JSON.stringify(expected)
          }`,
      });
    }
  }
  for (const [name, entry] of have) {
    if (!want.has(name)) {
      drifts.push({ line: entry.line, message: `${name} is not declared in src/config/` });
    }
  }
  if (drifts.length === 0) drifts.push({ message: "text outside the variables differs" });
  return drifts;
}
