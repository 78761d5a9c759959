/**
 * Starts a real S3-compatible server (versitygw, built by
 * `scripts/bootstrap.sh`; see ADR 0004) on a free loopback port, with a
 * fresh bucket, for one suite.
 *
 * @module
 */
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { S3StoreOptions } from "../src/artifacts/mod.ts";
import { freePort } from "./_temporal.ts";

/** Finds versitygw: `KEEL_VERSITYGW_BIN`, else the bootstrap cache. */
export function versitygwBinary(): string {
  const explicit = Deno.env.get("KEEL_VERSITYGW_BIN");
  if (explicit) return explicit;
  const cacheDir = Deno.env.get("KEEL_CACHE_DIR") ?? `${Deno.env.get("HOME")}/.cache/keel`;
  return `${cacheDir}/bin/versitygw`;
}

/** A running S3 server and the store options that reach its bucket. */
export interface S3Server {
  /** Options for `createS3Store`. */
  readonly options: S3StoreOptions;
  /** The directory the server keeps objects in (bucket/key → file). */
  readonly root: string;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

async function waitUntilListening(port: number): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`versitygw did not listen on 127.0.0.1:${port}`);
}

/** Starts versitygw with its POSIX backend in a temporary directory. */
export async function startS3Server(): Promise<S3Server> {
  const root = await Deno.makeTempDir({ prefix: "keel-s3-" });
  const port = freePort();
  const accessKeyId = "keeltest";
  const secretAccessKey = "keel-test-secret-key";
  const process = new Deno.Command(versitygwBinary(), {
    args: [
      "--access",
      accessKeyId,
      "--secret",
      secretAccessKey,
      "--port",
      `127.0.0.1:${port}`,
      "posix",
      root,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitUntilListening(port);
  const options: S3StoreOptions = {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: "keel-artifacts",
    region: "us-east-1",
    forcePathStyle: true,
    accessKeyId,
    secretAccessKey,
  };
  const admin = new S3Client({
    endpoint: options.endpoint,
    region: options.region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  await admin.send(new CreateBucketCommand({ Bucket: options.bucket }));
  admin.destroy();
  return {
    options,
    root,
    async stop() {
      try {
        process.kill("SIGTERM");
      } catch { /* already gone */ }
      await process.status;
      await Deno.remove(root, { recursive: true });
    },
  };
}
