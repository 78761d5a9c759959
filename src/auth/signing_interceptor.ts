/**
 * Signs decisions on their way to a loop. The API server and the CLI install
 * this interceptor on their Temporal client, so every approve, reject and
 * abort they send, as an Update or a Signal, carries a signature over exactly
 * what it says; a client without the key can send the message but not sign
 * it, and the worker refuses it.
 *
 * @module
 */
import type { WorkflowClientInterceptor } from "@temporalio/client";
import { type DecisionAction, type DecisionKey, signDecision } from "./signing.ts";

/** The workflow id prefix of directive loops (see `directiveWorkflowId`). */
const LOOP_PREFIX = "directive-";

/** The action each decision message name stands for. */
const ACTIONS: Readonly<Record<string, DecisionAction>> = {
  approve: "approve",
  reject: "reject",
  abort: "abort",
  approveSignal: "approve",
  rejectSignal: "reject",
  abortSignal: "abort",
};

async function signArgs(
  key: DecisionKey,
  name: string,
  workflowId: string,
  args: unknown[],
): Promise<unknown[]> {
  const action = Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
  const [by] = args;
  if (action === undefined || !workflowId.startsWith(LOOP_PREFIX) || args.length !== 1) {
    return args;
  }
  const message = by as { actor?: unknown; reason?: unknown } | null;
  if (typeof message?.actor !== "string" || typeof message.reason !== "string") return args;
  const directiveId = workflowId.slice(LOOP_PREFIX.length);
  return [
    await signDecision(key, directiveId, action, { actor: message.actor, reason: message.reason }),
  ];
}

/** A client interceptor that signs every decision message with `key`. */
export function signingInterceptor(key: DecisionKey): WorkflowClientInterceptor {
  return {
    async startUpdate(input, next) {
      const args = await signArgs(
        key,
        input.updateName,
        input.workflowExecution.workflowId,
        input.args,
      );
      return await next({ ...input, args });
    },
    async signal(input, next) {
      const args = await signArgs(
        key,
        input.signalName,
        input.workflowExecution.workflowId,
        input.args,
      );
      return await next({ ...input, args });
    },
  };
}
