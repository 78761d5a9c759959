/**
 * Anchors: small immutable objects kept beside the artifacts, outside
 * Postgres, under a deterministic key scheme (`anchors/<name>`) so that the
 * latest one can be found by listing. An anchor is written once and never
 * replaced or deleted; writing a name that exists leaves the stored object
 * as it is.
 *
 * @module
 */
import { join } from "node:path";
import type { ArtifactConfig } from "../config/mod.ts";
import { ArtifactNotFoundError, ObjectStoreError } from "./errors.ts";
import { s3Client, type S3StoreOptions } from "./s3_store.ts";
import { isMissingObject as isMissing } from "./_s3_sdk.ts";

/** An anchor's name: letters, digits, `.`, `-` and `_`, starting with a letter or digit. */
const NAME = /^[0-9a-z][0-9a-z._-]{0,127}$/;

/** Where anchors are kept: create-only, listable, never replaced or deleted. */
export interface AnchorStore {
  /** Where, for messages: a directory or an `s3://` URI. */
  readonly where: string;
  /** Stores `body` under `name` unless an anchor of that name exists; says which. */
  put(name: string, body: Uint8Array): Promise<{ readonly created: boolean }>;
  /** Reads an anchor. */
  get(name: string): Promise<Uint8Array>;
  /** Every anchor's name, sorted ascending. */
  list(): Promise<string[]>;
}

/** Refuses a name that is not an anchor name (it would also be a path). */
export function checkAnchorName(name: string): string {
  if (!NAME.test(name)) {
    throw new ArtifactNotFoundError(
      `Cannot address anchor "${name.slice(0, 80)}": a name is 1 to 128 of [0-9a-z._-]`,
    );
  }
  return name;
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
 * The filesystem anchor store: `<dir>/anchors/<name>`. A body is written to a
 * fsynced temporary file and hard-linked into place, which fails when the name
 * exists: an anchor is never overwritten, even by a racing writer.
 */
export function createFsAnchorStore(options: { readonly dir: string }): AnchorStore {
  const root = join(options.dir, "anchors");
  function fail(action: string, name: string, cause: unknown): never {
    throw new ObjectStoreError(
      `Cannot ${action} anchor "${name}" in "${root}": ${(cause as Error).message}`,
      { cause },
    );
  }
  return {
    where: root,
    async put(name, body) {
      const path = join(root, checkAnchorName(name));
      if (await exists(path)) return { created: false };
      const temp = join(root, `.tmp-${crypto.randomUUID()}`);
      try {
        await Deno.mkdir(root, { recursive: true });
        const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o444 });
        try {
          let written = 0;
          while (written < body.length) written += await file.write(body.subarray(written));
          await file.sync();
        } finally {
          file.close();
        }
        await Deno.link(temp, path);
        return { created: true };
      } catch (cause) {
        if (cause instanceof Deno.errors.AlreadyExists) return { created: false };
        fail("write", name, cause);
      } finally {
        await Deno.remove(temp).catch(() => {});
      }
    },
    async get(name) {
      const path = join(root, checkAnchorName(name));
      try {
        return await Deno.readFile(path);
      } catch (cause) {
        if (cause instanceof Deno.errors.NotFound) {
          throw new ArtifactNotFoundError(`No anchor "${name}" is stored in "${root}"`, { cause });
        }
        fail("read", name, cause);
      }
    },
    async list() {
      const names: string[] = [];
      try {
        for await (const entry of Deno.readDir(root)) {
          if (entry.isFile && NAME.test(entry.name)) names.push(entry.name);
        }
      } catch (cause) {
        if (cause instanceof Deno.errors.NotFound) return [];
        fail("list", "*", cause);
      }
      return names.sort();
    },
  };
}

/**
 * The S3 anchor store: objects `anchors/<name>` in the artifact bucket. A put
 * looks first and sends `If-None-Match: *`, so a store that supports
 * conditional writes refuses to replace an anchor even under a race.
 */
export function createS3AnchorStore(options: S3StoreOptions): AnchorStore {
  const s3 = s3Client(options);
  const bucket = options.bucket;
  const where = `s3://${bucket}/anchors`;
  function fail(action: string, name: string, cause: unknown): never {
    throw new ObjectStoreError(
      `Cannot ${action} anchor "${name}" in ${where} at ${options.endpoint}: ${
        (cause as Error).name
      }: ${(cause as Error).message}`,
      { cause },
    );
  }
  return {
    where,
    async put(name, body) {
      const key = `anchors/${checkAnchorName(name)}`;
      const { client, sdk } = await s3();
      try {
        await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { created: false };
      } catch (error) {
        if (!isMissing(error)) fail("look up", name, error);
      }
      try {
        await client.send(
          new sdk.PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: "application/json",
            ContentLength: body.length,
            IfNoneMatch: "*",
          }),
        );
        return { created: true };
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
          ?.httpStatusCode;
        if (status === 412) return { created: false };
        fail("write", name, error);
      }
    },
    async get(name) {
      const key = `anchors/${checkAnchorName(name)}`;
      try {
        const { client, sdk } = await s3();
        const answer = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
        if (!answer.Body) throw new Error("the answer had no body");
        return await answer.Body.transformToByteArray();
      } catch (cause) {
        if (isMissing(cause)) {
          throw new ArtifactNotFoundError(`No anchor "${name}" is stored in ${where}`, { cause });
        }
        fail("read", name, cause);
      }
    },
    async list() {
      const names: string[] = [];
      let token: string | undefined;
      const { client, sdk } = await s3();
      do {
        const page = await client.send(
          new sdk.ListObjectsV2Command({
            Bucket: bucket,
            Prefix: "anchors/",
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        ).catch((cause) => fail("list", "*", cause));
        for (const item of page.Contents ?? []) {
          const name = item.Key?.slice("anchors/".length) ?? "";
          if (NAME.test(name)) names.push(name);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return names.sort();
    },
  };
}

/** The anchor store beside the artifact store a configuration names. */
export function anchorStoreFrom(config: ArtifactConfig): AnchorStore {
  return config.kind === "fs"
    ? createFsAnchorStore({ dir: config.dir })
    : createS3AnchorStore(config);
}
