/**
 * Activities: thin adapters over the modules in `src/`, built by one factory
 * that receives every dependency.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";
import type { ModuleRegistry, Sandbox } from "../execution/mod.ts";
import type { Evaluator } from "../evaluation/mod.ts";
import type { PolicyConfig } from "../policy/mod.ts";
import type { Logger } from "../telemetry/log.ts";
import type { AnchorStore, ArtifactStorage } from "../artifacts/mod.ts";
import { createPingActivities } from "./ping.ts";
import { createDirectiveActivities } from "./directive.ts";
import { createDecisionActivities } from "./decisions.ts";
import { createLoopActivities } from "./loop.ts";
import type { DecisionKey } from "../auth/signing.ts";
import { createReconcileActivities } from "./reconcile.ts";
import { createAnchorActivities } from "./anchor.ts";
import { createLlmActivities } from "./llm.ts";
import { createNotifyActivities } from "./notify.ts";
import { createMemoryActivities } from "./memory.ts";
import type { EmbeddingsProvider } from "../embeddings/mod.ts";
import type { RetryPolicy } from "../notifications/mod.ts";
import { createNoopLlmProvider, type LlmProvider } from "../llm/mod.ts";

/** What the activities need from the process that hosts them. */
export interface ActivityDeps {
  /** The application's database client. */
  readonly sql: Sql;
  /** The policy in force. */
  readonly policy: PolicyConfig;
  /** Execution modules by directive type. */
  readonly registry: ModuleRegistry;
  /** The evaluator of finished runs. */
  readonly evaluator: Evaluator;
  /** Execution attempts per directive: the worker's limit, for every loop it runs. */
  readonly maxAttempts: number;
  /** Where artifact bodies go, and the largest accepted. */
  readonly artifacts: ArtifactStorage;
  /** Where the reconciler anchors the ledger, outside Postgres; no anchors when absent. */
  readonly anchors?: AnchorStore;
  /** Milliseconds an evaluator may take before its score is abandoned (default 10 s). */
  readonly evaluationTimeoutMs?: number;
  /** The structured logger. */
  readonly log: Logger;
  /** Where execution modules run; one of the activities' own when absent. */
  readonly sandbox?: Sandbox;
  /** The key decisions are signed with; without it every human decision is refused. */
  readonly decisionKey?: DecisionKey | undefined;
  /** The model provider `callLlm` uses; the NoOp provider when absent. */
  readonly llm?: LlmProvider;
  /** The embeddings provider and model completed directives are remembered with; none when absent. */
  readonly memory?: { readonly embeddings: EmbeddingsProvider; readonly model: string };
  /** How webhook deliveries are retried and how long a receiver may take; defaults when absent. */
  readonly webhooks?: RetryPolicy & { readonly timeoutMs: number };
}

/** Builds every activity the worker registers. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPingActivities(deps),
    ...createDirectiveActivities(deps),
    ...createDecisionActivities(deps),
    ...createLoopActivities(deps),
    ...createReconcileActivities(deps),
    ...createAnchorActivities(deps),
    ...createNotifyActivities(deps),
    ...createMemoryActivities(deps),
    ...createLlmActivities({ ...deps, llm: deps.llm ?? createNoopLlmProvider() }),
  };
}

/** Every activity, for `proxyActivities` in workflow code. */
export type Activities = ReturnType<typeof createActivities>;
