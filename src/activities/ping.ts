import type { Sql } from "../db/mod.ts";

/** Dependencies of the ping activities. */
export interface PingDeps {
  /** The application's database client. */
  readonly sql: Sql;
}

/** Builds the ping activities over injected dependencies. */
export function createPingActivities(deps: PingDeps) {
  return {
    /** Returns the database server's clock as ISO 8601. */
    async databaseTime(): Promise<string> {
      const [row] = await deps.sql<{ now: Date }[]>`SELECT now() AS now`;
      if (!row) throw new Error("SELECT now() returned no row");
      return row.now.toISOString();
    },
  };
}

/** The ping activity interface, for `proxyActivities`. */
export type PingActivities = ReturnType<typeof createPingActivities>;
