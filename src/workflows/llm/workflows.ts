import { proxyActivities } from "@temporalio/workflow";
import type { CallLlmResult, LlmActivities } from "../../activities/llm.ts";

/** What {@linkcode llmCallWorkflow} takes. */
export interface LlmCallWorkflowInput {
  /** The `callLlm` input: the directive and the request. */
  readonly request: unknown;
  /** Attempts before the activity fails for good; Temporal retries in between. */
  readonly maximumAttempts: number;
}

/**
 * One model call as a workflow: Temporal retries the activity, the budget
 * ledger makes sure it is paid for once.
 */
export async function llmCallWorkflow(input: LlmCallWorkflowInput): Promise<CallLlmResult> {
  const { callLlm } = proxyActivities<LlmActivities>({
    startToCloseTimeout: "2 minutes",
    retry: {
      maximumAttempts: input.maximumAttempts,
      initialInterval: "100 milliseconds",
      backoffCoefficient: 1,
    },
  });
  return await callLlm(input.request);
}
