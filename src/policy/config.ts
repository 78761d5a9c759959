/**
 * The versioned policy config: a JSON file validated by zod into a
 * {@linkcode PolicyConfig}. `parsePolicy` is pure; `loadPolicy` reads the
 * file (it needs `--allow-read` for that path) and then parses it.
 *
 * Validation beyond the shape of each field:
 *
 * - every object is strict: unknown keys are refused;
 * - `allowed_types` is non-empty, without duplicates, each a directive type
 *   (snake_case);
 * - every allowed type has a budget ceiling, and every ceiling names an
 *   allowed type (so a type without a ceiling cannot be allowed);
 * - ceilings are budget strings read by {@linkcode parseBudget};
 * - `required_fields` keys are allowed types; each path is a top-level
 *   directive field (`objective`, `success_metrics`, …) or `payload.` followed
 *   by one or more keys (`payload.message`, `payload.target.host`);
 * - `scope_deny` entries are exact scope items, or prefixes ending in `/*`;
 *   `*` is allowed nowhere else;
 * - `auto_approve_types` is a subset of `allowed_types`;
 * - `approvals` (optional): `required` approvers (default 1), whether the
 *   submitter is kept from approving (`separate_submitter`, default true),
 *   and `rules` that require more approvers by type and/or above a budget;
 * - `net_allow` keys are allowed types; each entry is `host` or `host:port`
 *   (a name, an IPv4 address or a bracketed IPv6 address; a port from 1 to
 *   65535), at most 100 per type, without duplicates. An entry without a port
 *   allows every port. A type absent from `net_allow` gets no net access.
 *
 * Errors name the file (or other source) and the JSON path of each problem,
 * e.g. `$.budget_ceilings.echo`.
 *
 * @module
 */
import { z } from "zod";
import { DIRECTIVE_FIELDS, DIRECTIVE_LIMITS, jsonPath } from "../models/mod.ts";
import { parseBudget } from "./budget.ts";

/** Bounds on a policy config. */
export const POLICY_LIMITS = {
  /** As the `policy_evaluations.policy_name` column allows. */
  nameMaxLength: 200,
  /** As the `policy_evaluations.policy_version` column allows. */
  versionMaxLength: 100,
  typesMaxItems: 200,
  requiredFieldsMaxItems: 50,
  pathMaxLength: 200,
  scopeDenyMaxItems: 500,
  scopeDenyItemMaxLength: DIRECTIVE_LIMITS.listItemMaxLength,
  /** The longest timebox a directive may have. */
  maxTimeboxSeconds: DIRECTIVE_LIMITS.timeboxMaxSeconds,
  /** 30 days. */
  approvalTimeoutMaxSeconds: 2_592_000,
  /** The most approvers a rule may require. */
  approvalsMaxRequired: 10,
  /** Quorum rules in `approvals.rules`. */
  approvalRulesMaxItems: 50,
  /** `net_allow` entries per type. */
  netAllowMaxItems: 100,
  /** The longest `net_allow` entry (a DNS name is at most 253 characters, plus `:65535`). */
  netAllowEntryMaxLength: 260,
} as const;

const TYPE_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

const typeName = z.string().regex(TYPE_PATTERN, {
  message: "must be a directive type: snake_case, a-z, 0-9 and _, starting with a letter",
});

const typeList = z.array(typeName)
  .max(POLICY_LIMITS.typesMaxItems, {
    message: `must have at most ${POLICY_LIMITS.typesMaxItems} items`,
  })
  .superRefine((types, ctx) => {
    const seen = new Set<string>();
    types.forEach((type, index) => {
      if (seen.has(type)) {
        ctx.addIssue({ code: "custom", path: [index], message: `repeats "${type}"` });
      }
      seen.add(type);
    });
  });

const ceiling = z.string().transform((text, ctx) => {
  try {
    return parseBudget(text);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      message: error instanceof Error ? error.message : String(error),
    });
    return z.NEVER;
  }
});

/** Why `path` is not a valid `required_fields` path, or `undefined` when it is. */
function requiredPathProblem(path: string): string | undefined {
  const segments = path.split(".");
  const head = segments[0] ?? "";
  if (!(DIRECTIVE_FIELDS as readonly string[]).includes(head)) {
    return `must start with a directive field (${DIRECTIVE_FIELDS.join(", ")})`;
  }
  if (segments.length > 1 && head !== "payload") {
    return `only payload paths may go deeper than the top level; "${head}" has no sub-fields`;
  }
  if (segments.some((segment) => segment === "")) {
    return "has an empty segment: write keys separated by single dots";
  }
  return undefined;
}

const requiredPath = z.string()
  .min(1, { message: "must not be empty" })
  .max(POLICY_LIMITS.pathMaxLength, {
    message: `must be at most ${POLICY_LIMITS.pathMaxLength} characters`,
  })
  .superRefine((path, ctx) => {
    const problem = requiredPathProblem(path);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

const scopeDenyEntry = z.string()
  .min(1, { message: "must not be empty" })
  .max(POLICY_LIMITS.scopeDenyItemMaxLength, {
    message: `must be at most ${POLICY_LIMITS.scopeDenyItemMaxLength} characters`,
  })
  .refine((entry) => !entry.slice(0, entry.endsWith("/*") ? -2 : undefined).includes("*"), {
    message: `may use "*" only as a final "/*" (prefix match), e.g. "secrets/*"`,
  })
  .refine((entry) => entry !== "/*", { message: `"/*" would deny every scope item under "/"` });

const HOST_ENTRY_PATTERN =
  /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/;

const netAllowEntry = z.string()
  .max(POLICY_LIMITS.netAllowEntryMaxLength, {
    message: `must be at most ${POLICY_LIMITS.netAllowEntryMaxLength} characters`,
  })
  .superRefine((entry, ctx) => {
    const match = HOST_ENTRY_PATTERN.exec(entry);
    if (!match) {
      ctx.addIssue({
        code: "custom",
        message: `must be host or host:port (e.g. "api.example.com:443" or "127.0.0.1"), ` +
          `got ${JSON.stringify(entry)}`,
      });
      return;
    }
    const port = match[2];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
      ctx.addIssue({
        code: "custom",
        message: `has port ${port}; a port is from 1 to 65535`,
      });
    }
  });

const netAllowList = z.array(netAllowEntry)
  .max(POLICY_LIMITS.netAllowMaxItems, {
    message: `must have at most ${POLICY_LIMITS.netAllowMaxItems} items`,
  })
  .superRefine((entries, ctx) => {
    const seen = new Set<string>();
    entries.forEach((entry, index) => {
      const key = entry.toLowerCase();
      if (seen.has(key)) {
        ctx.addIssue({ code: "custom", path: [index], message: `repeats "${entry}"` });
      }
      seen.add(key);
    });
  });

const approvalsRequired = z.number()
  .int({ message: "must be a whole number of approvers" })
  .min(1, { message: "must be at least 1" })
  .max(POLICY_LIMITS.approvalsMaxRequired, {
    message: `must be at most ${POLICY_LIMITS.approvalsMaxRequired}`,
  });

/**
 * A quorum rule: directives it matches need `required` distinct approvers.
 * It matches when the directive's type is in `types` (any type when absent)
 * and, when `budget_above` is given, its budget is above that amount or in
 * another currency (a budget that cannot be compared is treated as above).
 */
const approvalRule = z.strictObject({
  types: typeList.min(1, { message: "must name at least one type, or be left out" }).optional(),
  budget_above: ceiling.optional(),
  required: approvalsRequired,
});

/**
 * Who approves: `required` distinct approvers by default, more where a rule
 * says so; `separate_submitter` keeps the principal who submitted a directive
 * from approving it.
 */
const approvalsSchema = z.strictObject({
  required: approvalsRequired.default(1),
  separate_submitter: z.boolean().default(true),
  rules: z.array(approvalRule).max(POLICY_LIMITS.approvalRulesMaxItems, {
    message: `must have at most ${POLICY_LIMITS.approvalRulesMaxItems} items`,
  }).default([]),
});

/**
 * The policy config schema. Its input is the JSON document; its output has
 * ceilings parsed into budgets.
 */
export const PolicyConfigSchema = z.strictObject({
  name: z.string()
    .min(1, { message: "must not be empty" })
    .max(POLICY_LIMITS.nameMaxLength, {
      message: `must be at most ${POLICY_LIMITS.nameMaxLength} characters`,
    })
    .regex(NAME_PATTERN, {
      message: "must start with a letter or digit and use only letters, digits and ._-",
    }),
  version: z.string()
    .min(1, { message: "must not be empty" })
    .max(POLICY_LIMITS.versionMaxLength, {
      message: `must be at most ${POLICY_LIMITS.versionMaxLength} characters`,
    })
    .regex(VERSION_PATTERN, {
      message: "must start with a letter or digit and use only letters, digits and ._+-",
    }),
  allowed_types: typeList.min(1, { message: "must allow at least one directive type" }),
  max_timebox_seconds: z.number()
    .int({ message: "must be a whole number of seconds" })
    .min(1, { message: "must be at least 1 second" })
    .max(POLICY_LIMITS.maxTimeboxSeconds, {
      message: `must be at most ${POLICY_LIMITS.maxTimeboxSeconds} seconds (the directive limit)`,
    }),
  budget_ceilings: z.record(typeName, ceiling),
  required_fields: z.record(
    typeName,
    z.array(requiredPath).max(POLICY_LIMITS.requiredFieldsMaxItems, {
      message: `must have at most ${POLICY_LIMITS.requiredFieldsMaxItems} items`,
    }),
  ).default({}),
  scope_deny: z.array(scopeDenyEntry).max(POLICY_LIMITS.scopeDenyMaxItems, {
    message: `must have at most ${POLICY_LIMITS.scopeDenyMaxItems} items`,
  }).default([]),
  auto_approve_types: typeList.default([]),
  approval_timeout_seconds: z.number()
    .int({ message: "must be a whole number of seconds" })
    .min(1, { message: "must be at least 1 second" })
    .max(POLICY_LIMITS.approvalTimeoutMaxSeconds, {
      message: `must be at most ${POLICY_LIMITS.approvalTimeoutMaxSeconds} seconds (30 days)`,
    }),
  net_allow: z.record(typeName, netAllowList).default({}),
  approvals: approvalsSchema.default({ required: 1, separate_submitter: true, rules: [] }),
}).superRefine((policy, ctx) => {
  const allowed = new Set(policy.allowed_types);
  for (const type of policy.allowed_types) {
    if (!Object.hasOwn(policy.budget_ceilings, type)) {
      ctx.addIssue({
        code: "custom",
        path: ["budget_ceilings"],
        message: `has no ceiling for allowed type "${type}"; every allowed type needs one`,
      });
    }
  }
  for (const type of Object.keys(policy.budget_ceilings)) {
    if (!allowed.has(type)) {
      ctx.addIssue({
        code: "custom",
        path: ["budget_ceilings", type],
        message: `names "${type}", which is not in allowed_types`,
      });
    }
  }
  for (const type of Object.keys(policy.required_fields)) {
    if (!allowed.has(type)) {
      ctx.addIssue({
        code: "custom",
        path: ["required_fields", type],
        message: `names "${type}", which is not in allowed_types`,
      });
    }
  }
  for (const type of Object.keys(policy.net_allow)) {
    if (!allowed.has(type)) {
      ctx.addIssue({
        code: "custom",
        path: ["net_allow", type],
        message: `names "${type}", which is not in allowed_types`,
      });
    }
  }
  policy.approvals.rules.forEach((rule, index) => {
    (rule.types ?? []).forEach((type, at) => {
      if (!allowed.has(type)) {
        ctx.addIssue({
          code: "custom",
          path: ["approvals", "rules", index, "types", at],
          message: `names "${type}", which is not in allowed_types`,
        });
      }
    });
  });
  policy.auto_approve_types.forEach((type, index) => {
    if (!allowed.has(type)) {
      ctx.addIssue({
        code: "custom",
        path: ["auto_approve_types", index],
        message: `names "${type}", which is not in allowed_types; ` +
          `auto_approve_types must be a subset of allowed_types`,
      });
    }
  });
});

/** A validated policy: ceilings parsed into budgets, defaults filled in. */
export type PolicyConfig = z.output<typeof PolicyConfigSchema>;
/** A policy document as written in its JSON file. */
export type PolicyDocument = z.input<typeof PolicyConfigSchema>;

/** One problem found in a policy config. */
export interface PolicyIssue {
  /** JSON path of the offending value, e.g. `$.budget_ceilings.echo` (`$` for the whole). */
  readonly path: string;
  /** What is wrong with it. */
  readonly message: string;
}

/** Thrown when a policy config cannot be read or is invalid. */
export class PolicyConfigError extends Error {
  /** The file (or other source) the config came from. */
  readonly source: string;
  /** Every problem found; empty when the file could not be read or parsed as JSON. */
  readonly issues: readonly PolicyIssue[];
  /** Creates the error. */
  constructor(
    source: string,
    message: string,
    options?: ErrorOptions & { issues?: readonly PolicyIssue[] },
  ) {
    super(message, options);
    this.name = "PolicyConfigError";
    this.source = source;
    this.issues = options?.issues ?? [];
  }
}

/**
 * Validates a parsed JSON value as a policy config. Pure.
 *
 * @param value the parsed JSON document.
 * @param source where it came from (a file path), named in errors.
 * @throws {PolicyConfigError} listing every problem with its JSON path.
 */
export function parsePolicy(value: unknown, source: string): PolicyConfig {
  const result = PolicyConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue): PolicyIssue => ({
    path: jsonPath(issue.path, { root: "$" }),
    message: issue.code === "unrecognized_keys"
      ? `has unknown key${issue.keys.length === 1 ? "" : "s"} ${
        issue.keys.map((key) => JSON.stringify(key)).join(", ")
      }`
      : issue.message,
  }));
  throw new PolicyConfigError(
    source,
    `Cannot parse policy "${source}": ${
      issues.map((issue) => `${issue.path} ${issue.message}`).join("; ")
    }`,
    { cause: result.error, issues },
  );
}

/**
 * Reads a JSON policy file and validates it with {@linkcode parsePolicy}.
 * Needs read permission for `path`.
 *
 * @throws {PolicyConfigError} when the file cannot be read, is not JSON, or is invalid.
 */
export async function loadPolicy(path: string): Promise<PolicyConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    throw new PolicyConfigError(
      path,
      `Cannot load policy "${path}": ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new PolicyConfigError(
      path,
      `Cannot load policy "${path}": it is not valid JSON (${
        cause instanceof Error ? cause.message : String(cause)
      })`,
      { cause },
    );
  }
  return parsePolicy(value, path);
}
