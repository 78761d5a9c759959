/**
 * Who is acting: a principal is a name with a set of scopes. Every HTTP
 * route requires a scope; the CLI acts as a principal of its own; an agent
 * client holds only the scopes its token grants.
 *
 * @module
 */
import { z } from "zod";

/** The scopes a principal can hold, from reading to administering. */
export const SCOPES = ["read", "submit", "approve", "abort", "score", "admin"] as const;

/** One scope. */
export type Scope = typeof SCOPES[number];

/** A scope name, checked. */
export const ScopeName = z.enum(SCOPES);

/**
 * A principal's name: what the ledger records as the actor. Letters, digits
 * and `_ . : @ -`, 1 to 200 characters (the ledger's actor limit); never a
 * name Keel records for itself (`keel`, `policy:…`).
 */
export const PrincipalName = z.string().regex(
  /^[A-Za-z0-9_.:@-]{1,200}$/,
  "must be 1 to 200 letters, digits or _ . : @ -",
).refine(
  (name) => !name.startsWith("policy:") && name !== "keel",
  'must not be "keel" or start with "policy:" (names Keel itself records)',
);

/** An authenticated caller. */
export interface Principal {
  /** The name recorded as actor and as `submitted_by`. */
  readonly name: string;
  /** What it may do. */
  readonly scopes: ReadonlySet<Scope>;
  /** How it was authenticated: an API token, the operator CLI, or public reads. */
  readonly kind: "token" | "cli" | "public";
}

/** Whether `principal` holds `scope` (`admin` holds every scope). */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has("admin");
}
