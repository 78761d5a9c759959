import { trace } from "@opentelemetry/api";
import { ArtifactIntegrityError, ArtifactNotFoundError, ObjectStoreError } from "./errors.ts";
import { checkKey, type ObjectStore, refusals, sha256Hex, verified } from "./store.ts";
import { isMissingObject as isMissing, type LazyS3, lazyS3 } from "./_s3_sdk.ts";

// Looked up on each use: a tracer cached at import would outlive a restarted SDK.
function tracer() {
  return trace.getTracer("keel");
}

/** Where and how to reach an S3-compatible bucket (AWS S3, Cloudflare R2, versitygw…). */
export interface S3StoreOptions {
  /** e.g. `https://<account>.r2.cloudflarestorage.com` or `http://127.0.0.1:7070`. */
  readonly endpoint: string;
  /** The bucket; it must exist. */
  readonly bucket: string;
  /** `auto` for R2. */
  readonly region: string;
  /** Address the bucket in the path rather than the host name. */
  readonly forcePathStyle: boolean;
  /** Access key id. */
  readonly accessKeyId: string;
  /** Secret access key: passed to the client only, never logged. */
  readonly secretAccessKey: string;
}

function objectKey(key: string): string {
  return `sha256/${checkKey(key)}`;
}

/**
 * The S3 client for a store. Every setting the SDK would otherwise look up in
 * AWS_* variables and ~/.aws files is given here, so configuration comes from
 * Keel's config alone; no process needs to read ~/.aws. The SDK is imported,
 * and the client made, on first use.
 */
export function s3Client(options: S3StoreOptions): LazyS3 {
  return lazyS3((sdk) =>
    new sdk.S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      useFipsEndpoint: false,
      useDualstackEndpoint: false,
      maxAttempts: 3,
      retryMode: "standard",
      defaultsMode: "standard",
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_SUPPORTED",
      disableS3ExpressSessionAuth: true,
      userAgentAppId: "keel",
      sigv4aSigningRegionSet: [],
      authSchemePreference: [],
      useArnRegion: false,
      disableMultiregionAccessPoints: true,
    })
  );
}

/** The S3-compatible store, through `@aws-sdk/client-s3`, keyed `sha256/<key>`. */
export function createS3Store(options: S3StoreOptions): ObjectStore {
  const s3 = s3Client(options);
  const bucket = options.bucket;
  const where = `s3://${bucket}`;
  function fail(action: string, key: string, cause: unknown): never {
    throw new ObjectStoreError(
      `Cannot ${action} artifact "${key}" in ${where} at ${options.endpoint}: ${
        (cause as Error).name
      }: ${(cause as Error).message}`,
      { cause },
    );
  }
  async function exists(key: string): Promise<boolean> {
    try {
      const { client, sdk } = await s3();
      await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      fail("look up", key, error);
    }
  }
  function attributes(key: string): Record<string, string> {
    return {
      "keel.artifact.store": "s3",
      "keel.artifact.sha256": key,
      "aws.s3.bucket": bucket,
      "aws.s3.key": `sha256/${key}`,
    };
  }
  return {
    kind: "s3",
    uriOf: (key) => `${where}/${objectKey(key)}`,
    exists,
    put(body, { contentType }) {
      return tracer().startActiveSpan("artifact.put", async (span) => {
        try {
          const key = await sha256Hex(body);
          span.setAttributes({ ...attributes(key), "keel.artifact.size_bytes": body.length });
          const uri = `${where}/${objectKey(key)}`;
          if (await exists(key)) return { key, uri, created: false };
          const { client, sdk } = await s3();
          await client.send(
            new sdk.PutObjectCommand({
              Bucket: bucket,
              Key: objectKey(key),
              Body: body,
              ContentType: contentType,
              ContentLength: body.length,
            }),
          ).catch((cause) => fail("write", key, cause));
          return { key, uri, created: true };
        } finally {
          span.end();
        }
      });
    },
    get(key) {
      return tracer().startActiveSpan("artifact.get", async (span) => {
        try {
          span.setAttributes(attributes(checkKey(key)));
          let body: Uint8Array;
          try {
            const { client, sdk } = await s3();
            const answer = await client.send(
              new sdk.GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }),
            );
            if (!answer.Body) throw new Error("the answer had no body");
            body = await answer.Body.transformToByteArray();
          } catch (cause) {
            if (isMissing(cause)) {
              throw new ArtifactNotFoundError(`No artifact "${key}" is stored in ${where}`, {
                cause,
              });
            }
            // The SDK checks the server's response checksum before our sha256 can.
            if (/checksum mismatch/i.test((cause as Error).message)) {
              throw new ArtifactIntegrityError(
                `Artifact "${key}" read from ${where} is corrupt: ${(cause as Error).message}`,
                { cause },
              );
            }
            fail("read", key, cause);
          }
          return await verified(key, body, where);
        } finally {
          span.end();
        }
      });
    },
    async open(key) {
      try {
        const { client, sdk } = await s3();
        const answer = await client.send(
          new sdk.GetObjectCommand({ Bucket: bucket, Key: objectKey(checkKey(key)) }),
        );
        if (!answer.Body) throw new Error("the answer had no body");
        return {
          body: answer.Body.transformToWebStream() as ReadableStream<Uint8Array>,
          size: Number(answer.ContentLength ?? 0),
        };
      } catch (cause) {
        if (isMissing(cause)) {
          throw new ArtifactNotFoundError(`No artifact "${key}" is stored in ${where}`, { cause });
        }
        fail("read", key, cause);
      }
    },
    ...refusals(),
  };
}
