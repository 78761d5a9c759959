/**
 * The change feed: every ledger row after a given one, in order, for
 * followers that want to be told rather than poll each directive (the
 * dashboard's live view). One poller per process reads the ledger's head
 * while anyone listens, and wakes subscribers to read their rows only when
 * it moved.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";

/** One change: a ledger row, without its reason. */
export interface DirectiveChange {
  /** The ledger row's id (bigint as text): the feed's position. */
  readonly seq: string;
  /** The directive. */
  readonly id: string;
  /** Its status after the change. */
  readonly status: string;
  /** Its status before; null for the creation row. */
  readonly from: string | null;
  /** Who made the change. */
  readonly actor: string;
  /** When. */
  readonly at: Date;
}

/** The most rows one read returns; a subscriber far behind catches up over several. */
export const FEED_BATCH = 500;

/** Ledger rows after row `after` (a row id; "0" for all), oldest first, at most {@linkcode FEED_BATCH}. */
export async function changesAfter(sql: Sql, after: string): Promise<DirectiveChange[]> {
  return [
    ...await sql<DirectiveChange[]>`
      SELECT t.id::text AS seq, t.directive_id AS id, t.to_status AS status,
             t.from_status AS "from", t.actor, t.at
        FROM directive_transitions t
       WHERE t.id > ${after}::bigint
       ORDER BY t.id LIMIT ${FEED_BATCH}`,
  ];
}

/** The id of the newest ledger row ("0" when there is none): where a new follower starts. */
export async function feedHead(sql: Sql): Promise<string> {
  const [row] = await sql<{ head: string }[]>`
    SELECT coalesce(max(id), 0)::text AS head FROM directive_transitions`;
  return row?.head ?? "0";
}

/** A subscription to the feed. */
export interface FeedSubscription {
  /** Changes after the position, as they are found; ends when closed. */
  readonly changes: AsyncIterable<DirectiveChange>;
  /** Stops it. */
  close(): void;
}

/** A feed polled every `intervalMs` while anyone subscribes. */
export interface ChangeFeed {
  /** Follows changes after `after` ("head": only new ones). */
  subscribe(after: string | "head"): Promise<FeedSubscription>;
  /** Ends every subscription and stops polling. */
  close(): void;
}

/** Creates a feed over `sql`. */
export function createChangeFeed(sql: Sql, options: { intervalMs?: number } = {}): ChangeFeed {
  const intervalMs = options.intervalMs ?? 250;
  const listeners = new Set<() => void>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let closed = false;
  let lastHead: string | undefined;
  let polling = false;
  // One read per tick for every subscriber: the ledger's head. Subscribers
  // read their rows only when it moved.
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      const head = await feedHead(sql);
      if (head === lastHead) return;
      lastHead = head;
      for (const listener of listeners) listener();
    } catch {
      // Postgres did not answer: the next tick asks again.
    } finally {
      polling = false;
    }
  };
  const ensureTimer = () => {
    if (timer === undefined && !closed) timer = setInterval(() => void poll(), intervalMs);
  };
  const dropTimer = () => {
    if (listeners.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  return {
    async subscribe(after) {
      let position = after === "head" ? await feedHead(sql) : after;
      let done = closed;
      let tick: (() => void) | undefined;
      const listener = () => tick?.();
      const stop = () => {
        done = true;
        listeners.delete(listener);
        dropTimer();
        tick?.();
      };
      listeners.add(listener);
      ensureTimer();
      async function* changes(): AsyncGenerator<DirectiveChange> {
        while (!done) {
          const batch = await changesAfter(sql, position);
          for (const change of batch) {
            position = change.seq;
            yield change;
          }
          if (batch.length === FEED_BATCH || done) continue;
          await new Promise<void>((resolve) => tick = resolve);
        }
      }
      return { changes: changes(), close: stop };
    },
    close() {
      closed = true;
      const all = [...listeners];
      listeners.clear();
      for (const listener of all) listener();
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
