/**
 * What a directive's runs may touch: the module's declared permissions,
 * narrowed by the policy's `net_allow`. Pure.
 *
 * @module
 */
import {
  hostAllowed,
  intersectHosts,
  type ModulePermissions,
  type PermissionSet,
} from "../models/mod.ts";
import type { PolicyConfig } from "./config.ts";

/** What {@linkcode grantPermissions} needs to know about a directive and its module. */
export interface PermissionRequest {
  /** The directive type. */
  readonly type: string;
  /** The permissions the type's module declares. */
  readonly declared: ModulePermissions;
  /** The `host:port` entries a run of this directive will contact (the module's `targets`). */
  readonly targets: readonly string[];
}

/** The permission verdict: the set a run's process gets, or why none is given. */
export type PermissionGrant =
  | { readonly verdict: "ALLOW"; readonly granted: PermissionSet }
  | { readonly verdict: "BLOCK"; readonly reason: string };

/**
 * Grants a directive's runs the module's declared permissions with `net`
 * narrowed to the policy's `net_allow` for the type (no entry: no net at
 * all); `read`, `write` and `env` are passed through as declared, and empty
 * lists are omitted.
 *
 * BLOCKs when one of `targets` is outside `net_allow` for the type. A target
 * the policy allows but the module does not declare is not blocked here: the
 * sandbox denies it when the run tries it.
 *
 * @example
 * ```ts
 * grantPermissions(
 *   { type: "http_request", declared: { net: ["127.0.0.1"] }, targets: ["127.0.0.1:8080"] },
 *   policy, // net_allow: { http_request: ["127.0.0.1:8080"] }
 * ); // { verdict: "ALLOW", granted: { net: ["127.0.0.1:8080"] } }
 * ```
 */
export function grantPermissions(
  request: PermissionRequest,
  policy: PolicyConfig,
): PermissionGrant {
  const allowed = Object.hasOwn(policy.net_allow, request.type)
    ? policy.net_allow[request.type] ?? []
    : [];
  for (const target of request.targets) {
    if (!hostAllowed(target, allowed)) {
      return {
        verdict: "BLOCK",
        reason: `target "${target}" of ${request.type} is outside the policy's net allow-list (${
          allowed.length > 0 ? allowed.join(", ") : "none"
        })`,
      };
    }
  }
  const granted: { net?: string[]; read?: string[]; write?: string[]; env?: string[] } = {};
  const net = intersectHosts(request.declared.net ?? [], allowed);
  if (net.length > 0) granted.net = net;
  const { read = [], write = [], env = [] } = request.declared;
  if (read.length > 0) granted.read = [...read];
  if (write.length > 0) granted.write = [...write];
  if (env.length > 0) granted.env = [...env];
  return { verdict: "ALLOW", granted };
}
