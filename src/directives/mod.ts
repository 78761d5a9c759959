/**
 * Directives: the lifecycle rules (pure), the single status mutator, submit,
 * and the tamper-evident ledger.
 *
 * @module
 */
export * from "./lifecycle.ts";
export * from "./ledger.ts";
export * from "./mutator.ts";
export * from "./submit.ts";
export * from "./audit.ts";
export * from "./anchor.ts";
export * from "./intent.ts";
export * from "./decisions.ts";
export * from "./active.ts";
export * from "./inbox.ts";
export * from "./timeline.ts";
