import type { Sql, TransactionSql } from "../db/mod.ts";
import { ArtifactRow } from "../models/mod.ts";
import { lockArtifactBody } from "./body_lock.ts";
import { ArtifactIntegrityError, ArtifactNotFoundError, ArtifactTooLargeError } from "./errors.ts";
import { type ObjectStore, sha256Hex, verified } from "./store.ts";
import { verifyingStream } from "./stream.ts";

/** Bodies below this many bytes live inline in Postgres; the rest go to the object store. */
export const INLINE_LIMIT_BYTES = 64 * 1024;

/** The default ceiling on one artifact: 10 MiB. */
export const DEFAULT_ARTIFACT_MAX_BYTES = 10 * 1024 * 1024;

/** Where artifact bodies go, and how large one may be. */
export interface ArtifactStorage {
  /** The object store for bodies of {@linkcode INLINE_LIMIT_BYTES} and more. */
  readonly store: ObjectStore;
  /** Largest body accepted, in bytes. */
  readonly maxBytes: number;
}

/** A body to store, with its kind and type. */
export interface ArtifactBody {
  /** snake_case kind, e.g. `echo`. */
  readonly kind: string;
  /** MIME type. */
  readonly contentType: string;
  /** The bytes. */
  readonly body: Uint8Array;
}

/** An artifact ready for its row: a small body inline, or a large one already in the store. */
export interface PreparedArtifact {
  /** snake_case kind. */
  readonly kind: string;
  /** MIME type. */
  readonly contentType: string;
  /** sha256 of the body. */
  readonly sha256: string;
  /** Size of the body. */
  readonly sizeBytes: number;
  /** The body, when small enough to live inline. */
  readonly inline: Uint8Array | null;
  /** Where the store keeps it, when large. */
  readonly storageUri: string | null;
  /**
   * A large body and its store, kept so that recording the row can check the
   * object under the body lock and store it again if a purge removed it.
   */
  readonly stored: { readonly body: Uint8Array; readonly store: ObjectStore } | null;
}

/**
 * Routes a body by size: refuses one over the maximum, keeps a small one for
 * the row, and writes a large one to the object store first, outside any
 * transaction. Writing the object before the row is safe because keys are
 * content addresses: a retry finds the same object, and an object with no row
 * is only unreferenced. A purge may still remove it before the row exists:
 * {@linkcode insertArtifacts} checks it again under the body lock.
 */
export async function prepareArtifact(
  draft: ArtifactBody,
  storage: ArtifactStorage,
): Promise<PreparedArtifact> {
  const size = draft.body.length;
  if (size > storage.maxBytes) {
    throw new ArtifactTooLargeError(
      `Cannot store artifact "${draft.kind}": it is ${size} bytes and the maximum is ${storage.maxBytes} (KEEL_ARTIFACT_MAX_BYTES)`,
    );
  }
  const base = { kind: draft.kind, contentType: draft.contentType, sizeBytes: size };
  if (size < INLINE_LIMIT_BYTES) {
    return {
      ...base,
      sha256: await sha256Hex(draft.body),
      inline: draft.body,
      storageUri: null,
      stored: null,
    };
  }
  const put = await storage.store.put(draft.body, { contentType: draft.contentType });
  return {
    ...base,
    sha256: put.key,
    inline: null,
    storageUri: put.uri,
    stored: { body: draft.body, store: storage.store },
  };
}

/** The directive (and run) an artifact's row belongs to. */
export interface ArtifactLink {
  /** The directive. */
  readonly directiveId: string;
  /** The run, or null for a directive-level artifact. */
  readonly runId: string | null;
}

/**
 * Inserts an artifact's row; a duplicate (same directive, run, kind, sha256)
 * is skipped. A row whose body is in the object store is inserted under the
 * body lock ({@linkcode lockArtifactBody}), after `put` has checked the object
 * exists and stored it again if a purge removed it; the lock is held until
 * the caller's transaction commits, so no purge can remove the body between
 * the check and the row becoming visible.
 */
export async function insertArtifact(
  tx: TransactionSql,
  artifact: PreparedArtifact,
  link: ArtifactLink,
): Promise<void> {
  if (artifact.storageUri !== null) {
    if (artifact.stored === null) {
      throw new ArtifactIntegrityError(
        `Cannot record artifact "${artifact.sha256}" stored at "${artifact.storageUri}": its body was not kept to check the store with`,
      );
    }
    await lockArtifactBody(tx, artifact.sha256);
    const put = await artifact.stored.store.put(artifact.stored.body, {
      contentType: artifact.contentType,
    });
    if (put.key !== artifact.sha256 || put.uri !== artifact.storageUri) {
      throw new ArtifactIntegrityError(
        `Cannot record artifact "${artifact.sha256}": its body is stored as "${put.uri}", not "${artifact.storageUri}"`,
      );
    }
  }
  await tx`
    INSERT INTO artifacts
      (directive_id, run_id, kind, sha256, size_bytes, content_type, inline_content, storage_uri)
    VALUES (${link.directiveId}, ${link.runId}, ${artifact.kind}, ${artifact.sha256},
      ${artifact.sizeBytes}, ${artifact.contentType}, ${artifact.inline}, ${artifact.storageUri})
    ON CONFLICT DO NOTHING`;
}

/**
 * Inserts several artifacts' rows with {@linkcode insertArtifact}, in sha256
 * order so that two transactions taking the same body locks cannot deadlock.
 */
export async function insertArtifacts(
  tx: TransactionSql,
  artifacts: readonly PreparedArtifact[],
  link: ArtifactLink,
): Promise<void> {
  const ordered = [...artifacts].sort((a, b) =>
    a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0
  );
  for (const artifact of ordered) await insertArtifact(tx, artifact, link);
}

/** An artifact's row with its verified body. */
export interface ArtifactContent {
  /** The row. */
  readonly row: ArtifactRow;
  /** The body, checked against the row's sha256. */
  readonly body: Uint8Array;
}

/**
 * Reads an artifact by id, from its row or from the object store, and
 * verifies the body against the sha256 the row recorded.
 */
export async function readArtifact(
  sql: Sql,
  artifactId: string,
  storage: Pick<ArtifactStorage, "store">,
): Promise<ArtifactContent> {
  const [found] = await sql`SELECT * FROM artifacts WHERE id = ${artifactId}`;
  if (!found) throw new ArtifactNotFoundError(`No artifact has id "${artifactId}"`);
  const row = ArtifactRow.parse(found);
  if (row.inline_content !== null) {
    return { row, body: await verified(row.sha256, row.inline_content, "Postgres") };
  }
  const uri = row.storage_uri ?? "";
  if (uri !== storage.store.uriOf(row.sha256)) {
    throw new ArtifactIntegrityError(
      `Artifact "${artifactId}" is stored at "${uri}", which this ${storage.store.kind} store does not serve (expected "${
        storage.store.uriOf(row.sha256)
      }")`,
    );
  }
  return { row, body: await storage.store.get(row.sha256) };
}

/** An artifact's row with its body as a stream. */
export interface ArtifactStream {
  /** The row. */
  readonly row: ArtifactRow;
  /** The body; it errors instead of ending when the bytes do not match the row's sha256. */
  readonly body: ReadableStream<Uint8Array>;
  /** The body's size in bytes. */
  readonly size: number;
}

/**
 * Opens an artifact's body as a stream without holding a stored body in
 * memory: an inline body (under 64 KiB) is verified first; a stored one is
 * verified while it streams (see {@linkcode verifyingStream}).
 */
export async function openArtifact(
  sql: Sql,
  artifactId: string,
  storage: Pick<ArtifactStorage, "store">,
): Promise<ArtifactStream> {
  const [found] = await sql`SELECT * FROM artifacts WHERE id = ${artifactId}`;
  if (!found) throw new ArtifactNotFoundError(`No artifact has id "${artifactId}"`);
  const row = ArtifactRow.parse(found);
  if (row.inline_content !== null || storage.store.open === undefined) {
    const { body } = await readArtifact(sql, artifactId, storage);
    return { row, body: new Blob([body as Uint8Array<ArrayBuffer>]).stream(), size: body.length };
  }
  const uri = row.storage_uri ?? "";
  if (uri !== storage.store.uriOf(row.sha256)) {
    throw new ArtifactIntegrityError(
      `Artifact "${artifactId}" is stored at "${uri}", which this ${storage.store.kind} store does not serve`,
    );
  }
  const opened = await storage.store.open(row.sha256);
  return { row, body: verifyingStream(opened.body, row.sha256, uri), size: opened.size };
}
