/**
 * Signed decisions. The API and the CLI sign every approve, reject and abort
 * they send to a directive's loop with a key the worker shares; the worker's
 * activities verify the signature before anything is recorded. A message sent
 * straight to Temporal without the key cannot be signed, so it is refused.
 *
 * The MAC is HMAC-SHA256 over the directive id, the action, the principal,
 * the reason, the time of signing and a single-use nonce; a signature older
 * than the freshness window, or from the future beyond it, is refused, and a
 * nonce is accepted once (the caller records it, see `decision_nonces`).
 *
 * @module
 */
import { encodeHex } from "./_hex.ts";

/** The three decisions a person can send to a loop. */
export type DecisionAction = "approve" | "reject" | "abort";

/** How long a signature stays valid, either side of the verifier's clock. */
export const SIGNATURE_WINDOW_MS = 5 * 60 * 1000;

/** The shortest decision key accepted, in bytes. */
export const DECISION_KEY_MIN_BYTES = 32;

/** What a decision message carries besides the principal and the reason. */
export interface DecisionSignature {
  /** When it was signed, ISO 8601 UTC. */
  readonly issuedAt: string;
  /** A single-use random value, base64url. */
  readonly nonce: string;
  /** HMAC-SHA256, lowercase hex. */
  readonly signature: string;
}

/** A decision as the loop receives it: who, why, and the proof it came through Keel. */
export interface SignedAttribution extends DecisionSignature {
  /** The principal. */
  readonly actor: string;
  /** Why. */
  readonly reason: string;
}

/** Thrown when a decision's signature is missing, wrong, stale or replayed. */
export class DecisionSignatureError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DecisionSignatureError";
  }
}

/** Thrown when a decision key is too short. */
export class DecisionKeyError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DecisionKeyError";
  }
}

/** A key that signs and verifies decisions. */
export interface DecisionKey {
  /** The HMAC key. */
  readonly key: CryptoKey;
}

/**
 * Imports `secret` (the text of `KEEL_DECISION_KEY`, at least
 * {@linkcode DECISION_KEY_MIN_BYTES} bytes of UTF-8) as a decision key.
 */
export async function importDecisionKey(secret: string): Promise<DecisionKey> {
  const bytes = new TextEncoder().encode(secret);
  if (bytes.length < DECISION_KEY_MIN_BYTES) {
    throw new DecisionKeyError(
      `KEEL_DECISION_KEY must be at least ${DECISION_KEY_MIN_BYTES} bytes, got ${bytes.length}`,
    );
  }
  const key = await crypto.subtle.importKey(
    "raw",
    bytes,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  return { key };
}

function message(
  directiveId: string,
  action: DecisionAction,
  by: { actor: string; reason: string; issuedAt: string; nonce: string },
): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(
    JSON.stringify([
      "keel-decision-v1",
      directiveId,
      action,
      by.actor,
      by.reason,
      by.issuedAt,
      by.nonce,
    ]),
  );
}

function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

/** Signs `action` on `directiveId` by `by.actor` for `by.reason`, now. */
export async function signDecision(
  key: DecisionKey,
  directiveId: string,
  action: DecisionAction,
  by: { readonly actor: string; readonly reason: string },
  now: Date = new Date(),
): Promise<SignedAttribution> {
  const unsigned = {
    actor: by.actor,
    reason: by.reason,
    issuedAt: now.toISOString(),
    nonce: newNonce(),
  };
  const mac = await crypto.subtle.sign("HMAC", key.key, message(directiveId, action, unsigned));
  return { ...unsigned, signature: encodeHex(new Uint8Array(mac)) };
}

function hexBytes(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[0-9a-f]{64}$/.test(text)) return undefined;
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/**
 * Checks that `by` was signed with `key` for `action` on `directiveId`, within
 * the freshness window around `now`. The nonce's single use is the caller's to
 * record, in the same transaction as the decision.
 *
 * @throws {DecisionSignatureError} naming what is wrong.
 */
export async function verifyDecision(
  key: DecisionKey | undefined,
  directiveId: string,
  action: DecisionAction,
  by: Partial<SignedAttribution> & { readonly actor: string; readonly reason: string },
  now: Date = new Date(),
): Promise<void> {
  const refuse = (why: string): never => {
    throw new DecisionSignatureError(
      `refused to ${action} directive ${directiveId} as "${by.actor}": ${why}`,
    );
  };
  if (key === undefined) {
    return refuse("this worker has no KEEL_DECISION_KEY, so it cannot verify any decision");
  }
  if (
    typeof by.signature !== "string" || typeof by.issuedAt !== "string" ||
    typeof by.nonce !== "string"
  ) {
    return refuse("the decision is not signed (send it through the API or the CLI)");
  }
  if (!/^[A-Za-z0-9_-]{16,100}$/.test(by.nonce)) return refuse("the nonce is malformed");
  const issued = Date.parse(by.issuedAt);
  if (!Number.isFinite(issued)) return refuse(`issuedAt "${by.issuedAt}" is not a time`);
  if (Math.abs(now.getTime() - issued) > SIGNATURE_WINDOW_MS) {
    return refuse(
      `the signature from ${by.issuedAt} is outside the ${SIGNATURE_WINDOW_MS / 1000}s window`,
    );
  }
  const mac = hexBytes(by.signature);
  const valid = mac !== undefined && await crypto.subtle.verify(
    "HMAC",
    key.key,
    mac,
    message(directiveId, action, {
      actor: by.actor,
      reason: by.reason,
      issuedAt: by.issuedAt,
      nonce: by.nonce,
    }),
  );
  if (!valid) refuse("the signature does not match (wrong key, or the message was altered)");
}
