/**
 * The worker's own settings, webhook delivery, and the decision key and actor
 * shared with the API and CLI: their sections and parsers.
 *
 * @module
 */
import { z } from "zod";
import { envSection, type EnvSnapshot, envVar, intVar, parseSections, timeoutMs } from "./_env.ts";

/** What the worker runs with, beyond its connections. */
export const WORKER_SECTION = envSection({
  title: "Worker",
  vars: {
    KEEL_POLICY_FILE: envVar(z.string().min(1), {
      default: "policies/default.json",
      description: "Policy the worker evaluates directives against, and the active side of " +
        "`keel policy diff` (JSON, see policies/README.md).",
    }),
    KEEL_MAX_EXECUTION_ATTEMPTS: envVar(intVar(1, 10), {
      default: "2",
      description: "Execution attempts per directive (the worker's limit): an attempt that ends " +
        "in ERROR or is lost with its worker is followed by another only for a retry-safe module " +
        "while attempts remain.",
    }),
    KEEL_RECONCILE_INTERVAL_SECONDS: envVar(intVar(1, 86_400), {
      default: "30",
      description: "Seconds between reconciler passes that adopt directives with no running loop.",
    }),
    KEEL_MAX_CACHED_WORKFLOWS: envVar(
      // With no cache the Temporal core drops the local activities of a workflow it
      // evicts at once, and with one it evicts the workflow it is running.
      intVar(2, 100_000),
      {
        default: "100",
        description: "Workflows the worker keeps in memory, at least 2. Beyond it the least " +
          "recently used, such as directives parked at the approval gate, are evicted and " +
          "replayed from their history when their next event (an approval) arrives.",
      },
    ),
  },
});

/** The decision key and the CLI's actor. */
export const DECISION_SECTION = envSection({
  title: "Decisions",
  vars: {
    KEEL_DECISION_KEY: envVar(
      z.string().refine(
        (key) => new TextEncoder().encode(key).length >= 32,
        "must be at least 32 bytes (e.g. 64 hex characters from `openssl rand -hex 32`)",
      ),
      {
        secret: true,
        description: "Shared secret (at least 32 bytes) the API and CLI sign decisions with and " +
          "the worker verifies them with; unset: the worker refuses every human decision. " +
          "scripts/dev.sh makes one in .data/ (the CLI then reads it through .data/instance.json).",
      },
    ),
    KEEL_ACTOR: envVar(z.string().trim().min(1).max(200), {
      default: "cli",
      description: "Identity the CLI records on the ledger for approve, reject and abort.",
    }),
  },
});

/** How the worker delivers webhooks. */
export const WEBHOOK_SECTION = envSection({
  title: "Webhooks",
  intro: "Subscriptions: `deno task keel webhook add`. A receiver's host must be in the " +
    'worker\'s net allow-list (deno.json, permission set "worker").',
  vars: {
    KEEL_WEBHOOK_INTERVAL_SECONDS: envVar(intVar(1, 3600), {
      default: "1",
      description: "Seconds between the worker's webhook delivery passes when nothing is due.",
    }),
    KEEL_WEBHOOK_MAX_ATTEMPTS: envVar(intVar(1, 100), {
      default: "15",
      description: "Attempts per webhook delivery before it is marked failed.",
    }),
    KEEL_WEBHOOK_MAX_BACKOFF_SECONDS: envVar(intVar(1, 86_400), {
      default: "300",
      description: "Longest wait between attempts of a delivery (waits double from 1 s).",
    }),
    KEEL_WEBHOOK_TIMEOUT_MS: envVar(timeoutMs, {
      default: "10000",
      description: "Milliseconds a webhook receiver may take to answer.",
    }),
  },
});

/** What the worker runs with, beyond its connections. */
export interface WorkerConfig {
  /** The policy file. */
  readonly policyFile: string;
  /** Execution attempts per directive. */
  readonly maxAttempts: number;
  /** Seconds between reconciler passes. */
  readonly reconcileIntervalSeconds: number;
  /** Workflows the worker keeps cached (0: none). */
  readonly maxCachedWorkflows: number;
}

/** Parses the worker's settings. */
export function parseWorkerConfig(env: EnvSnapshot): WorkerConfig {
  const parsed = parseSections(env, WORKER_SECTION);
  return {
    policyFile: parsed.KEEL_POLICY_FILE,
    maxAttempts: parsed.KEEL_MAX_EXECUTION_ATTEMPTS,
    reconcileIntervalSeconds: parsed.KEEL_RECONCILE_INTERVAL_SECONDS,
    maxCachedWorkflows: parsed.KEEL_MAX_CACHED_WORKFLOWS,
  };
}

/** How the worker delivers webhooks. */
export interface WebhookConfig {
  /** Seconds between passes when nothing is due. */
  readonly intervalSeconds: number;
  /** Attempts before a delivery is marked failed. */
  readonly maxAttempts: number;
  /** The longest wait between attempts. */
  readonly maxBackoffSeconds: number;
  /** Milliseconds a receiver may take. */
  readonly timeoutMs: number;
}

/** Parses the webhook section. */
export function parseWebhookConfig(env: EnvSnapshot): WebhookConfig {
  const parsed = parseSections(env, WEBHOOK_SECTION);
  return {
    intervalSeconds: parsed.KEEL_WEBHOOK_INTERVAL_SECONDS,
    maxAttempts: parsed.KEEL_WEBHOOK_MAX_ATTEMPTS,
    maxBackoffSeconds: parsed.KEEL_WEBHOOK_MAX_BACKOFF_SECONDS,
    timeoutMs: parsed.KEEL_WEBHOOK_TIMEOUT_MS,
  };
}

/**
 * The secret decisions are signed and verified with, or undefined when unset.
 * The value is never echoed in an error.
 */
export function parseDecisionKey(env: EnvSnapshot): string | undefined {
  const { KEEL_DECISION_KEY } = env;
  return parseSections({ KEEL_DECISION_KEY }, DECISION_SECTION).KEEL_DECISION_KEY;
}

/** The identity the CLI records on the ledger. */
export function parseActor(env: EnvSnapshot): string {
  const { KEEL_ACTOR } = env;
  return parseSections({ KEEL_ACTOR }, DECISION_SECTION).KEEL_ACTOR;
}
