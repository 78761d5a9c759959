/**
 * Every workflow the Keel worker registers. This file is the bundle entry:
 * it and everything it imports must stay deterministic and free of I/O.
 *
 * @module
 */
export { pingWorkflow } from "./ping/workflows.ts";
export {
  directiveWorkflow,
  directiveWorkflowV2,
  directiveWorkflowV3,
} from "./directive/workflows.ts";
export { executionWorkflow, executionWorkflowV2 } from "./directive/execution.ts";
export { reconcilerWorkflow } from "./reconciler/workflows.ts";
export { llmCallWorkflow } from "./llm/workflows.ts";
export { notifierWorkflow } from "./notifier/workflows.ts";
export { memoryIndexerWorkflow } from "./memory/workflows.ts";
