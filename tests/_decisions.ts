/**
 * The decision key tests run with: the in-process worker verifies with it,
 * spawned workers and CLIs get it as `KEEL_DECISION_KEY`, and test clients
 * sign with it through the same interceptor the API and CLI use.
 *
 * @module
 */
import { type DecisionKey, importDecisionKey } from "../src/auth/signing.ts";
import { signingInterceptor } from "../src/auth/signing_interceptor.ts";
import type { WorkflowClientInterceptor } from "@temporalio/client";

/** The secret, as a user would put it in `KEEL_DECISION_KEY`. */
export const TEST_DECISION_SECRET = "test-decision-key-0123456789abcdef0123456789";

let key: Promise<DecisionKey> | undefined;

/** The imported test key. */
export function testDecisionKey(): Promise<DecisionKey> {
  key ??= importDecisionKey(TEST_DECISION_SECRET);
  return key;
}

/** A client interceptor that signs decisions with the test key. */
export async function testSigner(): Promise<WorkflowClientInterceptor> {
  return signingInterceptor(await testDecisionKey());
}
