/**
 * Evaluation: observes finished runs and scores them. A score never changes a
 * directive's outcome.
 *
 * @module
 */
export * from "./evaluator.ts";
export * from "./persist.ts";
