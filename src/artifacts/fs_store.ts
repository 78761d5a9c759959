import { join } from "node:path";
import { trace } from "@opentelemetry/api";
import { ArtifactNotFoundError, ObjectStoreError } from "./errors.ts";
import { checkKey, type ObjectStore, refusals, sha256Hex, verified } from "./store.ts";

// Looked up on each use: a tracer cached at import would outlive a restarted SDK.
function tracer() {
  return trace.getTracer("keel");
}

function pathOf(root: string, key: string): string {
  return join(root, "sha256", key.slice(0, 2), key);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Writes through a temporary file that is fsynced, then renamed into place,
 * so a crash leaves either no object or a whole one, never a torn one.
 */
async function writeAtomically(path: string, body: Uint8Array): Promise<void> {
  const dir = join(path, "..");
  await Deno.mkdir(dir, { recursive: true });
  const temp = join(dir, `.tmp-${crypto.randomUUID()}`);
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o444 });
    try {
      let written = 0;
      while (written < body.length) written += await file.write(body.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** Options for {@linkcode createFsStore}. */
export interface FsStoreOptions {
  /** The directory objects live under; created when missing. */
  readonly dir: string;
}

/** The filesystem store, the default: `<dir>/sha256/<ab>/<key>`, written atomically. */
export function createFsStore(options: FsStoreOptions): ObjectStore {
  const root = options.dir;
  function fail(action: string, key: string, cause: unknown): never {
    throw new ObjectStoreError(
      `Cannot ${action} artifact "${key}" in "${root}": ${(cause as Error).message}`,
      { cause },
    );
  }
  return {
    kind: "fs",
    uriOf: (key) => `fs:sha256/${checkKey(key)}`,
    put(body, { contentType }) {
      return tracer().startActiveSpan("artifact.put", async (span) => {
        try {
          const key = await sha256Hex(body);
          span.setAttributes({
            "keel.artifact.store": "fs",
            "keel.artifact.sha256": key,
            "keel.artifact.size_bytes": body.length,
            "keel.artifact.content_type": contentType,
          });
          const path = pathOf(root, key);
          if (await exists(path)) return { key, uri: `fs:sha256/${key}`, created: false };
          await writeAtomically(path, body).catch((cause) => fail("write", key, cause));
          return { key, uri: `fs:sha256/${key}`, created: true };
        } finally {
          span.end();
        }
      });
    },
    get(key) {
      return tracer().startActiveSpan("artifact.get", async (span) => {
        try {
          const path = pathOf(root, checkKey(key));
          span.setAttributes({ "keel.artifact.store": "fs", "keel.artifact.sha256": key });
          let body: Uint8Array;
          try {
            body = await Deno.readFile(path);
          } catch (cause) {
            if (cause instanceof Deno.errors.NotFound) {
              throw new ArtifactNotFoundError(`No artifact "${key}" is stored in "${root}"`, {
                cause,
              });
            }
            fail("read", key, cause);
          }
          return await verified(key, body, `"${path}"`);
        } finally {
          span.end();
        }
      });
    },
    async open(key) {
      const path = pathOf(root, checkKey(key));
      try {
        const file = await Deno.open(path, { read: true });
        const { size } = await file.stat();
        return { body: file.readable, size };
      } catch (cause) {
        if (cause instanceof Deno.errors.NotFound) {
          throw new ArtifactNotFoundError(`No artifact "${key}" is stored in "${root}"`, { cause });
        }
        fail("read", key, cause);
      }
    },
    async exists(key) {
      return await exists(pathOf(root, checkKey(key)));
    },
    ...refusals(),
  };
}
