/**
 * `POST /api/policy/what-if` (scope `admin`): the stored directives of the
 * last N days run through a candidate policy and the active one in a READ
 * ONLY transaction; the answer lists each verdict that would change, with
 * both reasons. Nothing is written.
 *
 * @module
 */
import { z } from "zod";
import type { Sql } from "../db/mod.ts";
import { InputError } from "../errors/table.ts";
import {
  type ModuleDeclaration,
  parsePolicy,
  type PolicyConfig,
  PolicyConfigError,
  policyWhatIf,
} from "../policy/mod.ts";
import { json, parse, ProblemError } from "./_http.ts";

/** The longest look-back, in days (ten years, as the CLI allows). */
const MAX_DAYS = 3650;
const DAY_MS = 86_400_000;

/** The body of a what-if request. */
export const WhatIfBody = z.strictObject({
  candidate: z.record(z.string(), z.unknown()),
  days: z.number().int().min(1).max(MAX_DAYS).default(7),
  limit: z.number().int().min(1).max(10_000).optional(),
});

/** What the route needs. */
export interface WhatIfDeps {
  /** The app-role pool. */
  readonly sql: Sql;
  /** The policy the worker enforces; the route answers 503 without it. */
  readonly policy?: PolicyConfig | undefined;
  /** The module each type runs, for grants. */
  readonly moduleOf: (type: string) => ModuleDeclaration | undefined;
}

/** Answers a what-if request whose body is `body`. */
export async function policyWhatIfRoute(deps: WhatIfDeps, body: unknown): Promise<Response> {
  if (deps.policy === undefined) {
    throw new ProblemError(503, "this server has no active policy loaded (KEEL_POLICY_FILE)");
  }
  const request = parse(WhatIfBody, body);
  let candidate: PolicyConfig;
  try {
    candidate = parsePolicy(request.candidate, "candidate");
  } catch (error) {
    if (!(error instanceof PolicyConfigError)) throw error;
    const fields = error.issues.map((issue) => ({
      path: `candidate${issue.path.slice(1)}`,
      message: issue.message,
    }));
    throw new InputError(`invalid candidate policy: ${error.message}`, fields, { cause: error });
  }
  const result = await policyWhatIf(deps.sql, {
    active: deps.policy,
    candidate,
    since: new Date(Date.now() - request.days * DAY_MS),
    ...(request.limit === undefined ? {} : { limit: request.limit }),
    moduleOf: deps.moduleOf,
  });
  return json(result);
}
