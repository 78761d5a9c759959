/**
 * Artifacts: content-addressed, immutable bodies. Small ones live inline in
 * Postgres, large ones in an object store (the filesystem by default, or any
 * S3-compatible bucket such as Cloudflare R2).
 *
 * @module
 */
export * from "./errors.ts";
export * from "./store.ts";
export * from "./routing.ts";
export { BODY_LOCK_CLASS, lockArtifactBody } from "./body_lock.ts";
export { createFsStore, type FsStoreOptions } from "./fs_store.ts";
export { createS3Store, type S3StoreOptions } from "./s3_store.ts";
export { artifactStorageFrom } from "./from_config.ts";
export * from "./anchors.ts";
export { verifyingStream } from "./stream.ts";
export { createPurger, type ObjectPurger } from "./purge.ts";
