/**
 * Keel's metrics, by the names in `docs/telemetry.md`. Instruments come from
 * the global meter, so they are no-ops until `startTelemetry` registers one.
 * Recording is write-only: nothing in Keel reads a metric back.
 *
 * @module
 */
import { metrics } from "@opentelemetry/api";

function meter() {
  return metrics.getMeter("keel");
}

/** Counts a directive reaching `status`. */
export function countDirective(status: string): void {
  meter().createCounter("keel_directives_total", {
    description: "Directives that reached a status",
  }).add(1, { status });
}

/** Counts a policy evaluation and records how long it took. */
export function recordPolicyEvaluation(verdict: string, seconds: number): void {
  meter().createCounter("keel_policy_evaluations_total", {
    description: "Policy evaluations by verdict",
  }).add(1, { verdict });
  meter().createHistogram("keel_policy_evaluation_duration_seconds", {
    description: "Time to evaluate a directive against the policy",
    unit: "s",
  }).record(seconds, { verdict });
}

/** Counts a module execution and records its duration. */
export function recordModuleExecution(module: string, status: string, seconds: number): void {
  meter().createCounter("keel_module_executions_total", {
    description: "Module executions by module and run status",
  }).add(1, { module, status });
  meter().createHistogram("keel_execution_duration_seconds", {
    description: "Module execution time by directive type",
    unit: "s",
  }).record(seconds, { type: module });
}

/** Records how long a directive waited for a human decision. */
export function recordApprovalWait(decision: string, seconds: number): void {
  meter().createHistogram("keel_approval_wait_seconds", {
    description: "Time from awaiting approval to a human decision",
    unit: "s",
  }).record(seconds, { decision });
}
