/**
 * The one place an environment variable is declared: {@linkcode envVar} gives
 * it a zod type, its default (as the text a user would write) and its
 * description; {@linkcode envSection} groups variables under a title. The
 * parsers, the names each entry point reads, `.env.example` and
 * `docs/configuration.md` are all derived from these declarations.
 *
 * @module
 */
import { z } from "zod";

/** A snapshot of named environment variables; unset ones are absent. */
export type EnvSnapshot = Readonly<Record<string, string | undefined>>;

/** Thrown when configuration is invalid; the message names each bad variable and quotes its value. */
export class ConfigError extends Error {
  /** Creates a config error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/** What a variable's declaration says besides its type. */
export interface EnvDoc {
  /** What it configures (a sentence; `.env.example` wraps it). */
  readonly description: string;
  /** The value used when it is unset, written as in the environment. */
  readonly default?: string;
  /** A secret: its value is never quoted in an error. */
  readonly secret?: boolean;
}

/** One declared environment variable: its zod type and documentation. */
export interface EnvVar<T extends z.ZodType = z.ZodType, D extends boolean = boolean>
  extends EnvDoc {
  /** The type of the variable's text. */
  readonly type: T;
  /** Whether a default is declared (typing only). */
  readonly hasDefault: D;
}

/** Declares a variable with a default: its parsed value is always present. */
export function envVar<T extends z.ZodType>(
  type: T,
  doc: EnvDoc & { readonly default: string },
): EnvVar<T, true>;
/** Declares a variable without a default: its parsed value may be undefined. */
export function envVar<T extends z.ZodType>(type: T, doc: EnvDoc): EnvVar<T, false>;
export function envVar<T extends z.ZodType>(type: T, doc: EnvDoc): EnvVar<T, boolean> {
  return { ...doc, type, hasDefault: doc.default !== undefined };
}

/** Variables by name. */
export type EnvSpec = Readonly<Record<string, EnvVar>>;

/** What parsing a spec gives: each variable's parsed value, undefined only when it has no default. */
export type EnvValues<S extends EnvSpec> = {
  readonly [K in keyof S]: S[K] extends EnvVar<infer T, infer D>
    ? D extends true ? z.output<T> : z.output<T> | undefined
    : never;
};

/** Reports a cross-variable problem found after each variable parsed. */
export type EnvIssue = (name: string, message: string) => void;

/** A titled group of variables, as shown in `.env.example` and the docs. */
export interface EnvSection<S extends EnvSpec = EnvSpec> {
  /** The heading. */
  readonly title: string;
  /** An introduction printed under the heading (optional). */
  readonly intro?: string;
  /** The variables, in the order they are documented. */
  readonly vars: S;
  /** Problems between variables (a key required by a choice, ...). */
  check?(values: EnvValues<S>, issue: EnvIssue): void;
}

/** Declares a section. */
export function envSection<S extends EnvSpec>(section: EnvSection<S>): EnvSection<S> {
  return section;
}

/** The names a set of sections declares, in order. */
export function namesOf(...sections: readonly EnvSection[]): string[] {
  return sections.flatMap((section) => Object.keys(section.vars));
}

/**
 * Reads the named variables through `getter` (the entry point passes the runtime's), so a
 * process needs env permission for exactly these names and no others. Empty counts as unset.
 */
export function readEnv(
  names: readonly string[],
  getter: (name: string) => string | undefined,
): EnvSnapshot {
  const snapshot: Record<string, string | undefined> = {};
  for (const name of names) {
    const value = getter(name);
    if (value !== undefined && value !== "") snapshot[name] = value;
  }
  return snapshot;
}

function shown(spec: EnvSpec, env: EnvSnapshot, name: string): string {
  const value = env[name];
  if (value === undefined) return `${name} (unset)`;
  return spec[name]?.secret ? `${name}=(redacted)` : `${name}=${JSON.stringify(value)}`;
}

/**
 * Parses `env` against the variables of `sections`: each unset variable takes its default, each
 * value must pass its type, then each section's check runs. Throws one {@linkcode ConfigError}
 * listing every bad variable as `NAME="value": problem` (a secret's value is never shown).
 */
export function parseSections<S extends EnvSpec>(
  env: EnvSnapshot,
  section: EnvSection<S>,
): EnvValues<S>;
/** Parses two sections at once, so one error lists the problems of both. */
export function parseSections<S extends EnvSpec, R extends EnvSpec>(
  env: EnvSnapshot,
  first: EnvSection<S>,
  second: EnvSection<R>,
): EnvValues<S> & EnvValues<R>;
export function parseSections(env: EnvSnapshot, ...sections: readonly EnvSection[]): unknown {
  const spec: Record<string, EnvVar> = Object.assign({}, ...sections.map((s) => s.vars));
  const shape: Record<string, z.ZodType> = {};
  const input: Record<string, string | undefined> = {};
  for (const [name, v] of Object.entries(spec)) {
    shape[name] = v.hasDefault ? v.type : v.type.optional();
    input[name] = env[name] ?? v.default;
  }
  const problems: string[] = [];
  const result = z.object(shape).safeParse(input);
  if (result.success) {
    for (const section of sections) {
      section.check?.(result.data as never, (name, message) => {
        problems.push(`  ${shown(spec, env, name)}: ${message}`);
      });
    }
    if (problems.length === 0) return result.data;
  } else {
    for (const issue of result.error.issues) {
      problems.push(`  ${shown(spec, env, issue.path.join("."))}: ${issue.message}`);
    }
  }
  throw new ConfigError(`Invalid configuration:\n${problems.join("\n")}`, {
    ...(result.success ? {} : { cause: result.error }),
  });
}

/** Integer text within bounds. */
export function intVar(min: number, max: number): z.ZodType<number> {
  return z.coerce.number().int().min(min).max(max);
}

/** Milliseconds a call may take. */
export const timeoutMs: z.ZodType<number> = intVar(100, 600_000);

/** An http:// or https:// URL. */
export const httpUrl: z.ZodType<string> = z.string().refine(
  (value) => /^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(value),
  "must be an http:// or https:// URL",
);

/** A postgres:// or postgresql:// URL. */
export const postgresUrl: z.ZodType<string> = z.string().refine(
  (value) => /^postgres(ql)?:\/\/[^\s]+$/.test(value),
  "must be a postgres:// or postgresql:// URL",
);
