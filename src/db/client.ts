import postgres from "postgres";
import { traced } from "./_traced.ts";

/** The injected SQL client. Every module that touches Postgres receives one. */
export type Sql = postgres.Sql;

/** A client bound to one open transaction. */
export type TransactionSql = postgres.TransactionSql;

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  /** Pool size. Use 1 against PGlite, which serves one connection at a time. */
  readonly max?: number;
  /** Seconds to wait for a connection before failing. */
  readonly connectTimeoutSeconds?: number;
  /** Shown in `pg_stat_activity`. */
  readonly applicationName?: string;
}

/** Thrown when a database URL cannot be used. */
export class DatabaseUrlError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DatabaseUrlError";
  }
}

/** Returns the URL with any password replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparseable database URL>";
  }
}

/**
 * Opens a connection pool. Connections are made lazily, on the first query.
 * Notices are dropped: they are not errors and would clutter output. Every
 * statement is traced (see `_traced.ts`).
 */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new DatabaseUrlError(`Cannot parse database URL "${redactUrl(url)}"`, { cause });
  }
  if (!parsed.pathname || parsed.pathname === "/") {
    throw new DatabaseUrlError(`Database URL "${redactUrl(url)}" names no database`);
  }
  return traced(postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? "keel" },
  }));
}

/** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
export async function withTransaction<T>(
  sql: Sql,
  fn: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  return await sql.begin((tx) => fn(tx)) as T;
}

/**
 * Runs `fn` in one transaction, given a client on which every query joins it
 * and a nested `begin` runs its callback inside it too (no savepoint), so a
 * step composed of functions that each open their own transaction commits
 * once. A failure anywhere rolls the whole step back; the caller retries it
 * whole, so each part must be safe to repeat (Keel's writes are idempotent).
 */
export async function inOneTransaction<T>(sql: Sql, fn: (joined: Sql) => Promise<T>): Promise<T> {
  return await sql.begin(async (tx) => {
    const joined: Sql = new Proxy(tx as unknown as Sql, {
      get(target, property, receiver) {
        if (property === "begin") {
          return (first: unknown, second?: unknown) =>
            (typeof first === "function" ? first : second as (tx: Sql) => unknown)(joined);
        }
        return Reflect.get(target, property, receiver);
      },
    });
    return await fn(joined);
  }) as T;
}

/** Closes the pool, letting running queries finish for up to `timeoutSeconds`. */
export async function close(sql: Sql, timeoutSeconds = 5): Promise<void> {
  await sql.end({ timeout: timeoutSeconds });
}
