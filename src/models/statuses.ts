import { z } from "zod";

/** Every directive status; the lifecycle rules live in `src/directives/`. */
export const DIRECTIVE_STATUSES = [
  "draft",
  "proposed",
  "approved",
  "executing",
  "complete",
  "blocked",
  "aborted",
] as const;

/** A directive status. */
export const DirectiveStatus = z.enum(DIRECTIVE_STATUSES);
/** A directive status. */
export type DirectiveStatus = z.infer<typeof DirectiveStatus>;

/**
 * Every execution-run status. `lost`: the worker died while the module ran,
 * so whether the module acted is unknown.
 */
export const RUN_STATUSES = [
  "pending",
  "running",
  "completed",
  "failed",
  "canceled",
  "lost",
] as const;

/** The run statuses that are endings. */
export const ENDED_RUN_STATUSES = ["completed", "failed", "canceled", "lost"] as const;
/** An execution-run status. */
export const RunStatus = z.enum(RUN_STATUSES);
/** An execution-run status. */
export type RunStatus = z.infer<typeof RunStatus>;

/** What an execution module reports. */
export const ModuleOutcome = z.enum(["SUCCESS", "FAILURE", "ERROR"]);
/** What an execution module reports. */
export type ModuleOutcome = z.infer<typeof ModuleOutcome>;

/** A policy verdict. */
export const PolicyVerdict = z.enum(["ALLOW", "BLOCK"]);
/** A policy verdict. */
export type PolicyVerdict = z.infer<typeof PolicyVerdict>;

/** A human approval decision. */
export const ApprovalDecision = z.enum(["approved", "rejected"]);
/** A human approval decision. */
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;
