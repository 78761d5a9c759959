import { join } from "node:path";
import type { ArtifactConfig } from "../config/mod.ts";
import { ObjectStoreError } from "./errors.ts";
import { s3Client } from "./s3_store.ts";
import { checkKey } from "./store.ts";

/**
 * Removes stored bodies for retention, and for nothing else. It is not part of
 * `ObjectStore`, whose `delete` always refuses: only the owner-run prune
 * (`deno task prune`) builds one, after Postgres has tombstoned every row that
 * pointed at the body. Call `purge` only inside a transaction holding the
 * body's lock (`lockArtifactBody`), after checking again that no row still
 * references it, as `purgeStoredBodies` does: writers record rows under the
 * same lock.
 */
export interface ObjectPurger {
  /** The URI prefix of the objects it can remove, e.g. `fs:sha256/` or `s3://bucket/sha256/`. */
  readonly prefix: string;
  /** Removes the object under `key`; false when it was already gone (not an error). */
  purge(key: string): Promise<boolean>;
}

/** The purger for the store a configuration names. */
export function createPurger(config: ArtifactConfig): ObjectPurger {
  if (config.kind === "fs") {
    return {
      prefix: "fs:sha256/",
      async purge(key) {
        const path = join(config.dir, "sha256", checkKey(key).slice(0, 2), key);
        try {
          await Deno.remove(path);
          return true;
        } catch (cause) {
          if (cause instanceof Deno.errors.NotFound) return false;
          throw new ObjectStoreError(`Cannot purge artifact "${key}" from "${config.dir}"`, {
            cause,
          });
        }
      },
    };
  }
  const s3 = s3Client(config);
  return {
    prefix: `s3://${config.bucket}/sha256/`,
    async purge(key) {
      const target = { Bucket: config.bucket, Key: `sha256/${checkKey(key)}` };
      try {
        const { client, sdk } = await s3();
        try {
          await client.send(new sdk.HeadObjectCommand(target));
        } catch (missing) {
          if (
            (missing as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ===
              404
          ) {
            return false;
          }
          throw missing;
        }
        await client.send(new sdk.DeleteObjectCommand(target));
        return true;
      } catch (cause) {
        throw new ObjectStoreError(
          `Cannot purge artifact "${key}" from s3://${config.bucket}: ${(cause as Error).name}`,
          { cause },
        );
      }
    },
  };
}
