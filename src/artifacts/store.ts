import { ArtifactImmutableError, ArtifactIntegrityError, ArtifactNotFoundError } from "./errors.ts";

/** What `put` reports: the content address and whether this call stored it. */
export interface PutResult {
  /** The sha256 of the body, lowercase hex: the object's key. */
  readonly key: string;
  /** A URI that names the object in this store, e.g. `s3://bucket/sha256/ab…`. */
  readonly uri: string;
  /** False when the same bytes were already stored. */
  readonly created: boolean;
}

/**
 * A content-addressed, immutable object store. Keys are the sha256 of the
 * body, so storing the same bytes twice is a no-op, and nothing is ever
 * replaced or deleted: `delete` exists only to refuse, with a typed error.
 */
export interface ObjectStore {
  /** `fs` or `s3`, for logs and spans. */
  readonly kind: "fs" | "s3";
  /** Stores a body under its sha256. */
  put(body: Uint8Array, options: { contentType: string }): Promise<PutResult>;
  /** Reads a body and verifies its sha256; a mismatch throws {@linkcode ArtifactIntegrityError}. */
  get(key: string): Promise<Uint8Array>;
  /**
   * Opens a body as a stream, unverified (pipe it through `verifyingStream`),
   * with its size; throws {@linkcode ArtifactNotFoundError} when absent.
   */
  open?(key: string): Promise<{ body: ReadableStream<Uint8Array>; size: number }>;
  /** Whether an object is stored under the key. */
  exists(key: string): Promise<boolean>;
  /** Always refused: throws {@linkcode ArtifactImmutableError}. */
  delete(key: string): Promise<never>;
  /** Always refused: throws {@linkcode ArtifactImmutableError}. */
  overwrite(key: string, body: Uint8Array): Promise<never>;
  /** The URI the store gives the key. */
  uriOf(key: string): string;
}

const KEY = /^[0-9a-f]{64}$/;

/** The sha256 of bytes as lowercase hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Refuses a key that is not a sha256 hex digest (it would also be a path). */
export function checkKey(key: string): string {
  if (!KEY.test(key)) {
    throw new ArtifactNotFoundError(
      `Cannot address artifact "${key.slice(0, 80)}": a key is 64 lowercase hex characters`,
    );
  }
  return key;
}

/** Checks that bytes read back hash to their key. */
export async function verified(key: string, body: Uint8Array, where: string): Promise<Uint8Array> {
  const actual = await sha256Hex(body);
  if (actual !== key) {
    throw new ArtifactIntegrityError(
      `Artifact "${key}" read from ${where} is corrupt: its ${body.length} bytes hash to "${actual}"`,
    );
  }
  return body;
}

/** The two refusals every store shares. */
export function refusals(): Pick<ObjectStore, "delete" | "overwrite"> {
  return {
    delete: (key) =>
      Promise.reject(
        new ArtifactImmutableError(`Cannot delete artifact "${key}": artifacts are immutable`),
      ),
    overwrite: (key) =>
      Promise.reject(
        new ArtifactImmutableError(
          `Cannot overwrite artifact "${key}": artifacts are immutable; store new bytes under their own sha256`,
        ),
      ),
  };
}
