/**
 * Part of check 6, the examples: `examples/expected_verdicts.yaml` states the
 * verdict each example directive gets from the default policy
 * (`policies/default.json`, the worker's unless `KEEL_POLICY_FILE` names
 * another), and every example it lists is run through that policy (the rules,
 * then the module's network targets, as the loop decides) and reported, at
 * the example, when the verdict differs. An example the file does not list is
 * not run through the policy; an entry naming no example is a violation. A
 * tree without `policies/default.json` (or without the file) is not checked.
 *
 * @module
 */
import { posix } from "node:path";
import { isMap, isScalar, parseDocument } from "yaml";
import { z } from "zod";
import { DirectiveValidationError, parseDirective } from "../directives/submit.ts";
import type { DirectiveSchema } from "../models/directive.ts";
import {
  decideIntent,
  loadPolicy,
  type ModuleDeclaration,
  POLICY_RULES,
  type PolicyConfig,
  PolicyConfigError,
  type PolicyDecision,
  type PolicyRule,
} from "../policy/mod.ts";
import { type ExampleFile, parseExample } from "./directive_examples.ts";
import type { Violation } from "./violation.ts";

/** The file that states each example's expected verdict, relative to the root. */
export const EXPECTED_VERDICTS_PATH = "examples/expected_verdicts.yaml";

/** The policy the examples are decided by, relative to the root. */
export const DEFAULT_POLICY_PATH = "policies/default.json";

/** What an example expects: ALLOW with who approves, or BLOCK by which rule. */
export const ExpectedVerdict = z.discriminatedUnion("verdict", [
  z.strictObject({ verdict: z.literal("ALLOW"), approval: z.enum(["policy", "person"]) }),
  z.strictObject({ verdict: z.literal("BLOCK"), rule: z.enum([...POLICY_RULES, "net_allow"]) }),
]);

/** An expected verdict. */
export type ExpectedVerdict = z.infer<typeof ExpectedVerdict>;

/** One entry of the expectations file, with where it is written. */
interface Entry {
  readonly expected: ExpectedVerdict;
  readonly line: number;
  readonly col: number;
}

function lineColAt(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  return { line: before.split("\n").length, col: before.length - before.lastIndexOf("\n") };
}

/**
 * Parses the expectations file: a YAML map from an example's path (relative
 * to the root) to `{verdict: ALLOW, approval: policy|person}` or
 * `{verdict: BLOCK, rule: <rule>}`. Bad entries are violations at their line.
 */
export function parseExpectedVerdicts(
  text: string,
): { entries: Map<string, Entry>; violations: Violation[] } {
  const path = EXPECTED_VERDICTS_PATH;
  const entries = new Map<string, Entry>();
  const violations: Violation[] = [];
  const document = parseDocument(text, { prettyErrors: true });
  const [error] = document.errors;
  if (error) {
    const [at] = error.linePos ?? [{ line: 1, col: 1 }];
    return {
      entries,
      violations: [{ ...at, path, message: `invalid YAML: ${error.message.split("\n")[0]}` }],
    };
  }
  const root = document.contents;
  if (root === null) return { entries, violations };
  if (!isMap(root)) {
    return {
      entries,
      violations: [{ path, line: 1, col: 1, message: "must map example paths to verdicts" }],
    };
  }
  for (const pair of root.items) {
    const { line, col } = lineColAt(text, (pair.key as { range?: number[] })?.range?.[0] ?? 0);
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    const parsed = ExpectedVerdict.safeParse(
      (pair.value as { toJSON?: () => unknown } | null)?.toJSON?.() ?? null,
    );
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) =>
        `${i.path.length === 0 ? "" : `${i.path.join(".")}: `}${i.message}`
      );
      violations.push({
        path,
        line,
        col,
        message: `"${key}": ${problems.join("; ")} ` +
          `(write {verdict: ALLOW, approval: policy|person} or {verdict: BLOCK, rule: <rule>})`,
      });
    } else entries.set(key, { expected: parsed.data, line, col });
  }
  return { entries, violations };
}

function described(expected: ExpectedVerdict): string {
  return expected.verdict === "BLOCK"
    ? `BLOCK by rule ${expected.rule}`
    : `ALLOW, approved by ${expected.approval === "policy" ? "the policy" : "a person"}`;
}

function actualOf(decision: PolicyDecision): ExpectedVerdict {
  if (decision.verdict === "ALLOW") {
    return { verdict: "ALLOW", approval: decision.auto_approve ? "policy" : "person" };
  }
  return { verdict: "BLOCK", rule: decision.rule as Exclude<PolicyRule, "ok"> };
}

/** What {@linkcode checkExampleVerdicts} is given. */
export interface ExampleVerdictsInput {
  /** The examples found, with paths relative to the root. */
  readonly files: readonly ExampleFile[];
  /** The folder they were read from, relative to the root (`examples/directives`). */
  readonly dir: string;
  /** The expectations file's text. */
  readonly expectations: string;
  /** The default policy, or the violation that says why it could not be loaded. */
  readonly policy: PolicyConfig | Violation;
  /** The directive contract over the registered module types. */
  readonly schema: DirectiveSchema;
  /** The module a type selects, for its network targets. */
  readonly moduleOf: (type: string) => ModuleDeclaration | undefined;
}

/**
 * Runs each listed example through the default policy and reports every
 * verdict that differs from the stated one, and every entry that names no
 * example under `dir`. Pure. Examples that fail the contract are left to the
 * contract part of the check.
 */
export function checkExampleVerdicts(
  input: ExampleVerdictsInput,
): { violations: Violation[]; decided: number } {
  const { entries, violations } = parseExpectedVerdicts(input.expectations);
  const byPath = new Map(input.files.map((file) => [file.path, file]));
  const prefix = `${input.dir}/`;
  for (const [path, entry] of entries) {
    if (!byPath.has(path) && posix.normalize(path).startsWith(prefix)) {
      violations.push({
        path: EXPECTED_VERDICTS_PATH,
        line: entry.line,
        col: entry.col,
        message: `"${path}" is not an example directive under ${prefix}: remove the entry`,
      });
    }
  }
  let decided = 0;
  for (const file of input.files) {
    const entry = entries.get(file.path);
    if (entry === undefined) continue;
    if ("message" in input.policy) {
      violations.push(input.policy);
      break;
    }
    const parsed = parseExample(file);
    if ("path" in parsed) continue;
    let intent;
    try {
      intent = parseDirective(input.schema, parsed.value);
    } catch (error) {
      if (error instanceof DirectiveValidationError) continue;
      throw error;
    }
    const { decision } = decideIntent(intent, input.policy, input.moduleOf(intent.type));
    decided++;
    const actual = actualOf(decision);
    if (described(actual) !== described(entry.expected)) {
      violations.push({
        path: file.path,
        line: 1,
        col: 1,
        message: `${DEFAULT_POLICY_PATH} decides ${described(actual)} ("${decision.reason}"), ` +
          `but ${EXPECTED_VERDICTS_PATH}:${entry.line} expects ${described(entry.expected)}`,
      });
    }
  }
  return { violations, decided };
}

/** Reads the expectations file under `root`; undefined when there is none. */
export async function readExpectedVerdicts(root: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(posix.join(root, EXPECTED_VERDICTS_PATH));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Loads the default policy under `root`, or the violation that says why it
 * cannot be; undefined when the file does not exist (nothing to check against).
 */
export async function readDefaultPolicy(
  root: string,
): Promise<PolicyConfig | Violation | undefined> {
  try {
    return await loadPolicy(posix.join(root, DEFAULT_POLICY_PATH));
  } catch (error) {
    if (!(error instanceof PolicyConfigError)) throw error;
    if (error.cause instanceof Deno.errors.NotFound) return undefined;
    return {
      path: DEFAULT_POLICY_PATH,
      message: `the examples' verdicts cannot be checked: ${error.message}`,
    };
  }
}
