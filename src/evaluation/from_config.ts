import type { EvaluationConfig } from "../config/mod.ts";
import { createBraintrustEvaluator } from "./braintrust.ts";
import { defaultEvaluator, type Evaluator } from "./evaluator.ts";

/** The evaluator a parsed configuration names. */
export function evaluatorFrom(config: EvaluationConfig): Evaluator {
  if (config.kind === "default" || config.braintrust === undefined) return defaultEvaluator;
  return createBraintrustEvaluator({ ...config.braintrust, scorer: defaultEvaluator });
}
