/**
 * The messages between the sandbox host and a module's process: one JSON
 * object per line on the process's stdin (host to module) and stdout (module
 * to host), each stdout line marked with {@linkcode MESSAGE_MARK} so a
 * module's own `console.log` output is never taken for a message. Imported
 * by both sides; it has no imports of its own.
 *
 * @module
 */
import type { ModuleInput } from "../module.ts";

/** The prefix of every protocol line a module's process writes. */
export const MESSAGE_MARK = "\u0001keel ";

/** The argument that makes a module's file serve its module. */
export function sandboxArgument(type: string): string {
  return `--keel-sandbox=${type}`;
}

/** An artifact on the wire: the body in base64. */
export interface WireArtifact {
  readonly kind: string;
  readonly contentType: string;
  readonly body: string;
}

/** A working-memory call a module makes through the host. */
export interface MemoryRequest {
  readonly kind: "memory";
  /** Matches the reply to the call. */
  readonly id: number;
  readonly op: "get" | "set" | "delete" | "keys";
  readonly key?: string;
  /** The value to set (JSON). */
  readonly value?: unknown;
}

/** The host's answer to a {@linkcode MemoryRequest}: a value (absent: none), or a refusal. */
export type MemoryReply =
  | {
    readonly kind: "memory_reply";
    readonly id: number;
    readonly ok: true;
    readonly value?: unknown;
  }
  | {
    readonly kind: "memory_reply";
    readonly id: number;
    readonly ok: false;
    readonly name: string;
    readonly message: string;
  };

/** Host to module. */
export type HostMessage =
  | { readonly kind: "run"; readonly input: ModuleInput }
  | { readonly kind: "ping"; readonly seq: number }
  | MemoryReply;

/** Module to host. */
export type GuestMessage =
  | { readonly kind: "ready" }
  | { readonly kind: "pong"; readonly seq: number }
  | { readonly kind: "heartbeat"; readonly details?: unknown }
  | { readonly kind: "artifact"; readonly draft: WireArtifact }
  | { readonly kind: "cost"; readonly amount: string }
  | MemoryRequest
  | { readonly kind: "result"; readonly result: Record<string, unknown> }
  | { readonly kind: "error"; readonly name: string; readonly message: string };

/** Bytes to base64. */
export function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/** Base64 to bytes; throws a TypeError on anything else. */
export function fromBase64(text: string): Uint8Array {
  if (typeof text !== "string") throw new TypeError("an artifact body must be base64 text");
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
