/**
 * Pure-function throughput of the loop's hot paths: policy evaluation,
 * lifecycle checks and directive validation, as timed loops.
 *
 * @module
 */
import {
  canTransition,
  parseDirective,
  STATUSES,
  validateTransition,
} from "../src/directives/mod.ts";
import type { DirectiveSchema } from "../src/models/mod.ts";
import { evaluatePolicy, type PolicyConfig } from "../src/policy/mod.ts";
import { echoDocument } from "../tests/_directives.ts";
import { summarize, type Summary } from "./_stats.ts";

/** Calls `fn` in batches for about `ms` and returns calls per second. */
export function opsPerSecond(fn: () => void, ms: number): number {
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 1000; i++) fn();
    calls += 1000;
    elapsed = performance.now() - start;
  }
  return calls / (elapsed / 1000);
}

/** Ops/s of each hot path over repeated timed loops. */
export type HotPaths = Record<string, Summary>;

/** Times each hot path `repeats` times for about `ms` each (after a warm-up). */
export function measureHotPaths(
  options: { schema: DirectiveSchema; policy: PolicyConfig; repeats: number; ms: number },
): HotPaths {
  const allowed = parseDirective(options.schema, echoDocument());
  const blocked = parseDirective(options.schema, echoDocument({ scope: ["secrets/db"] }));
  const legal = STATUSES.flatMap((from) =>
    STATUSES.filter((to) => canTransition(from, to)).map((to) => [from, to] as const)
  );
  let sink = 0;
  const paths: Record<string, () => void> = {
    "evaluatePolicy (ALLOW, all rules)": () => {
      sink += evaluatePolicy(allowed, options.policy).reason.length;
    },
    "evaluatePolicy (BLOCK at scope_deny)": () => {
      sink += evaluatePolicy(blocked, options.policy).reason.length;
    },
    "canTransition (all 49 pairs)": () => {
      for (const from of STATUSES) for (const to of STATUSES) if (canTransition(from, to)) sink++;
    },
    [`validateTransition (${legal.length} legal steps)`]: () => {
      for (const [from, to] of legal) validateTransition(from, to);
    },
    "parseDirective (zod, echo document)": () => {
      sink += parseDirective(options.schema, echoDocument()).objective.length;
    },
  };
  const result: HotPaths = {};
  for (const [name, fn] of Object.entries(paths)) {
    opsPerSecond(fn, Math.min(200, options.ms));
    result[name] = summarize(
      Array.from({ length: options.repeats }, () => opsPerSecond(fn, options.ms)),
    );
  }
  if (sink < 0) throw new Error("unreachable: keeps the results alive");
  return result;
}
