/**
 * The lock that keeps a stored body and the rows that reference it in step.
 * Keys are content addresses, so a worker recording new bytes and the purge of
 * a pruned body can name the same object. Both take this transaction-scoped
 * Postgres advisory lock on the body's sha256: the writer checks (or writes)
 * the body and inserts its row under it, the purge re-checks for references
 * and deletes the body under it, and each releases it only by committing.
 * So the purge either sees the new row and keeps the body, or deletes the
 * body before the writer looks, and the writer stores it again.
 *
 * @module
 */
import type { TransactionSql } from "../db/mod.ts";
import { checkKey } from "./store.ts";

/**
 * The advisory-lock class of artifact bodies ("keel" in ASCII). Locks taken
 * with two int4 keys never collide with single-bigint ones such as the
 * migration runner's.
 */
export const BODY_LOCK_CLASS = 0x6b65656c;

/**
 * Takes the body lock on `sha256` until the transaction ends. Two bodies whose
 * digests share their first 32 bits share a lock: they wait for each other,
 * which costs time, never correctness. A transaction that locks several
 * bodies must lock them in sha256 order so that two writers cannot deadlock.
 *
 * Run what follows under READ COMMITTED (the default): each later statement
 * then sees every row committed by the lock's previous holder.
 */
export async function lockArtifactBody(tx: TransactionSql, sha256: string): Promise<void> {
  const objid = parseInt(checkKey(sha256).slice(0, 8), 16) | 0;
  await tx`SELECT pg_advisory_xact_lock(${BODY_LOCK_CLASS}::int, ${objid}::int)`;
}
