/**
 * Evaluation: observes finished runs and scores them. A score never changes a
 * directive's outcome.
 *
 * @module
 */
export * from "./evaluator.ts";
export * from "./persist.ts";
export * from "./late.ts";
export * from "./braintrust.ts";
export { evaluatorFrom } from "./from_config.ts";
