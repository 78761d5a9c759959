/**
 * A policy's content hash: the SHA-256 of a canonical JSON text of the
 * parsed config. Keys are sorted at every depth and defaults are filled in
 * by parsing, so whitespace, key order and omitted defaults do not change
 * it; any change of a value does. Every verdict stores the hash of the
 * policy that decided it (`policy_evaluations.policy_sha256`).
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { PolicyConfig } from "./config.ts";

/** A lowercase hex SHA-256. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Thrown when a value cannot be written as canonical JSON. */
export class CanonicalJsonError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CanonicalJsonError";
  }
}

function canonicalValue(value: unknown, path: string): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new CanonicalJsonError(`Cannot write ${path} as JSON: ${value} is not finite`);
    }
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => canonicalValue(item ?? null, `${path}[${index}]`));
  }
  if (typeof value === "object") {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined) sorted[key] = canonicalValue(item, `${path}.${key}`);
    }
    return sorted;
  }
  throw new CanonicalJsonError(
    `Cannot write ${path} as JSON: a ${typeof value} has no JSON form`,
  );
}

/**
 * JSON text with object keys sorted (by UTF-16 code units) at every depth,
 * no whitespace, and `undefined` members left out. Array order is kept.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }); // '{"a":[2,{"c":4,"d":3}],"b":1}'
 * ```
 * @throws {CanonicalJsonError} on a non-finite number, a bigint, a function or a symbol.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalValue(value, "$"));
}

/**
 * The content hash of a parsed policy: lowercase hex SHA-256 of
 * {@linkcode canonicalJson} of it. Two files that parse to the same config
 * (other whitespace, key order, defaults written out or not) hash the same.
 *
 * @example
 * ```ts
 * const hash = policyContentHash(await loadPolicy("policies/default.json")); // 64 hex chars
 * ```
 */
export function policyContentHash(policy: PolicyConfig): string {
  return createHash("sha256").update(canonicalJson(policy)).digest("hex");
}
