/**
 * The artifact store section and its parser. The secret key is never echoed.
 *
 * @module
 */
import { z } from "zod";
import {
  envSection,
  type EnvSnapshot,
  envVar,
  httpUrl,
  intVar,
  namesOf,
  parseSections,
} from "./_env.ts";

const S3_REQUIRED = [
  "KEEL_S3_ENDPOINT",
  "KEEL_S3_BUCKET",
  "KEEL_S3_ACCESS_KEY_ID",
  "KEEL_S3_SECRET_ACCESS_KEY",
] as const;

/** Where artifact bodies go. */
export const ARTIFACT_SECTION = envSection({
  title: "Artifacts",
  intro: "The worker, the API server and `deno task prune` refuse to start when their " +
    "permission set cannot reach the configured store: run them through scripts/dev.sh, " +
    "`deno task serve`, or add the flags `deno task permissions` prints (docs/artifacts.md).",
  vars: {
    KEEL_ARTIFACT_STORE: envVar(z.enum(["fs", "s3"]), {
      default: "fs",
      description: "Where artifact bodies of 64 KiB and more go: fs (a directory) or s3.",
    }),
    KEEL_ARTIFACT_DIR: envVar(z.string().min(1), {
      default: ".data/artifacts",
      description: "Directory of the filesystem artifact store.",
    }),
    KEEL_ARTIFACT_MAX_BYTES: envVar(intVar(65_536, 1024 ** 3), {
      default: "10485760",
      description: "Largest artifact body accepted, in bytes.",
    }),
    KEEL_S3_ENDPOINT: envVar(httpUrl, {
      description: "S3-compatible endpoint URL, e.g. https://<account>.r2.cloudflarestorage.com; " +
        "required for s3.",
    }),
    KEEL_S3_BUCKET: envVar(
      z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a bucket name"),
      { description: "Bucket of the S3 artifact store (it must exist); required for s3." },
    ),
    KEEL_S3_REGION: envVar(z.string().min(1).max(64), {
      default: "auto",
      description: "Region of the bucket; auto for Cloudflare R2.",
    }),
    KEEL_S3_FORCE_PATH_STYLE: envVar(z.enum(["true", "false"]), {
      default: "true",
      description: "Address the bucket in the URL path (true for most S3-compatible servers).",
    }),
    KEEL_S3_ACCESS_KEY_ID: envVar(z.string().min(1), {
      description: "Access key id of the S3 artifact store; required for s3.",
    }),
    KEEL_S3_SECRET_ACCESS_KEY: envVar(z.string().min(1), {
      secret: true,
      description: "Secret access key of the S3 artifact store; required for s3. Never logged.",
    }),
  },
  check(env, issue) {
    if (env.KEEL_ARTIFACT_STORE !== "s3") return;
    for (const name of S3_REQUIRED) {
      if (env[name] === undefined) issue(name, "is required when KEEL_ARTIFACT_STORE=s3");
    }
  },
});

/** Where artifact bodies go. */
export type ArtifactConfig =
  & { readonly maxBytes: number }
  & (
    | { readonly kind: "fs"; readonly dir: string }
    | {
      readonly kind: "s3";
      readonly endpoint: string;
      readonly bucket: string;
      readonly region: string;
      readonly forcePathStyle: boolean;
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
    }
  );

/** The variables {@linkcode parseArtifactConfig} reads. */
export const ARTIFACT_ENV: readonly string[] = namesOf(ARTIFACT_SECTION);

/** Parses the artifact store settings; the secret key is never echoed in an error. */
export function parseArtifactConfig(env: EnvSnapshot): ArtifactConfig {
  const parsed = parseSections(env, ARTIFACT_SECTION);
  if (parsed.KEEL_ARTIFACT_STORE === "fs") {
    return { kind: "fs", dir: parsed.KEEL_ARTIFACT_DIR, maxBytes: parsed.KEEL_ARTIFACT_MAX_BYTES };
  }
  return {
    kind: "s3",
    maxBytes: parsed.KEEL_ARTIFACT_MAX_BYTES,
    endpoint: parsed.KEEL_S3_ENDPOINT ?? "",
    bucket: parsed.KEEL_S3_BUCKET ?? "",
    region: parsed.KEEL_S3_REGION,
    forcePathStyle: parsed.KEEL_S3_FORCE_PATH_STYLE === "true",
    accessKeyId: parsed.KEEL_S3_ACCESS_KEY_ID ?? "",
    secretAccessKey: parsed.KEEL_S3_SECRET_ACCESS_KEY ?? "",
  };
}
