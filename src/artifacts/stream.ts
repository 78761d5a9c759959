/**
 * Streaming an artifact body while verifying it: bytes flow through as they
 * are read, hashed on the way, and the last chunk is held back until the
 * whole body's sha256 matches the key. On a mismatch the stream errors
 * instead of sending the last chunk, so a reader never receives a complete
 * corrupt body (and a declared Content-Length is never met).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { ArtifactIntegrityError } from "./errors.ts";

/** Passes `source` through, erroring with {@linkcode ArtifactIntegrityError} unless its sha256 is `key`. */
export function verifyingStream(
  source: ReadableStream<Uint8Array>,
  key: string,
  where: string,
): ReadableStream<Uint8Array> {
  const hash = createHash("sha256");
  let held: Uint8Array | undefined;
  let size = 0;
  return source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hash.update(chunk);
        size += chunk.length;
        if (held !== undefined) controller.enqueue(held);
        held = chunk;
      },
      flush(controller) {
        const actual = hash.digest("hex");
        if (actual !== key) {
          controller.error(
            new ArtifactIntegrityError(
              `Artifact "${key}" read from ${where} is corrupt: its ${size} bytes hash to "${actual}"`,
            ),
          );
          return;
        }
        if (held !== undefined) controller.enqueue(held);
      },
    }),
  );
}
