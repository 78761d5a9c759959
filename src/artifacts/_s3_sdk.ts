/**
 * `@aws-sdk/client-s3`, loaded on first use: a worker or server on the
 * filesystem store never loads it (importing it costs a process about
 * 19 MiB of resident memory; see bench/memory.ts).
 *
 * @module
 */
import type { S3Client } from "@aws-sdk/client-s3";

/** The SDK module. */
export type S3Sdk = typeof import("@aws-sdk/client-s3");

let loading: Promise<S3Sdk> | undefined;

/** The SDK, imported once. */
export function loadS3Sdk(): Promise<S3Sdk> {
  return loading ??= import("@aws-sdk/client-s3");
}

/** A client and the SDK's commands, made on first use. */
export type LazyS3 = () => Promise<{ readonly client: S3Client; readonly sdk: S3Sdk }>;

/** Memoizes `make` (the client constructor) behind the SDK's first load. */
export function lazyS3(make: (sdk: S3Sdk) => S3Client): LazyS3 {
  let ready: Promise<{ client: S3Client; sdk: S3Sdk }> | undefined;
  return () =>
    ready ??= loadS3Sdk().then((sdk) => ({ client: make(sdk), sdk })).catch((error) => {
      ready = undefined;
      throw error;
    });
}

/** Whether an SDK error says the object is not there (by name, so the SDK need not be loaded). */
export function isMissingObject(error: unknown): boolean {
  const name = (error as { name?: unknown }).name;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return name === "NoSuchKey" || name === "NotFound" || status === 404;
}
