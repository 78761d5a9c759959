/**
 * The dashboard's read routes beyond the directive page: the approval inbox
 * (`GET /api/inbox`) and the overview's aggregates (`GET /api/stats/<name>`),
 * each with a validated, bounded query and an answer parsed with its schema.
 *
 * @module
 */
import { approvalInbox } from "../directives/inbox.ts";
import type { Sql } from "../db/mod.ts";
import type { PolicyConfig } from "../policy/mod.ts";
import {
  approvalWaits,
  blockReasons,
  runDurations,
  spendPerDay,
  statsWindow,
  statusPerDay,
} from "../stats/mod.ts";
import { json, parse, ProblemError } from "./_http.ts";
import { MEMORY_MAX_LIMIT, type MemoryEmbeddings, searchDirectiveMemory } from "../memory/mod.ts";
import { z } from "zod";
import { principalFor, type TokenDeps } from "./_principal.ts";
import { BlockReasonsQuery, InboxQuery, InboxView, StatsQuery, StatsViews } from "./views.ts";

/** What these routes read. */
export interface OverviewDeps extends TokenDeps {
  /** The app-role pool. */
  readonly sql: Sql;
  /** The active policy: its approval timeout gives the inbox's deadlines. */
  readonly policy?: PolicyConfig | undefined;
  /** How memories were embedded: searches then go by meaning; by text without it. */
  readonly memory?: MemoryEmbeddings | undefined;
}

/** `GET /api/memory/search`: the text and how many hits. */
export const MemorySearchQuery = z.strictObject({
  q: z.string().trim().min(1, "must not be blank").max(200)
    .refine((v) => !v.includes("\u0000"), "must not contain NUL"),
  limit: z.coerce.number().int().min(1).max(MEMORY_MAX_LIMIT).default(10),
});

/** The names under `/api/stats/`. */
export const STATS_NAMES = Object.keys(StatsViews) as (keyof typeof StatsViews)[];

function isStatsName(name: string): name is keyof typeof StatsViews {
  return Object.hasOwn(StatsViews, name);
}

async function stats(deps: OverviewDeps, name: keyof typeof StatsViews, url: URL) {
  const query = Object.fromEntries(url.searchParams);
  const now = new Date();
  if (name === "block-reasons") {
    const q = parse(BlockReasonsQuery, query);
    return { reasons: await blockReasons(deps.sql, statsWindow(q.days, now), q.limit) };
  }
  const window = statsWindow(parse(StatsQuery, query).days, now);
  switch (name) {
    case "status-per-day":
      return await statusPerDay(deps.sql, window);
    case "approval-waits":
      return await approvalWaits(deps.sql, window);
    case "run-durations":
      return { modules: await runDurations(deps.sql, window) };
    case "spend":
      return await spendPerDay(deps.sql, window);
  }
}

/**
 * Answers `GET /api/inbox`, `GET /api/stats/<name>` and `GET /api/memory/search`, or
 * undefined for other paths.
 */
export async function overviewRoute(
  deps: OverviewDeps,
  request: Request,
  url: URL,
  parts: readonly string[],
): Promise<Response | undefined> {
  if (request.method !== "GET" || parts[0] !== "api") return undefined;
  if (parts[1] === "inbox" && parts.length === 2) {
    await principalFor(deps, request, "read");
    const q = parse(InboxQuery, Object.fromEntries(url.searchParams));
    const inbox = await approvalInbox(deps.sql, {
      limit: q.limit,
      approvalTimeoutSeconds: deps.policy?.approval_timeout_seconds,
      now: new Date(),
    });
    return json(InboxView.parse(inbox));
  }
  if (parts[1] === "memory" && parts[2] === "search" && parts.length === 3) {
    await principalFor(deps, request, "read");
    const q = parse(MemorySearchQuery, Object.fromEntries(url.searchParams));
    // The read-only reader: one READ ONLY transaction, bounded.
    return json(await searchDirectiveMemory(deps.sql, q.q, q.limit, deps.memory));
  }
  if (parts[1] === "stats" && parts.length === 3) {
    await principalFor(deps, request, "read");
    const name = parts[2] ?? "";
    if (!isStatsName(name)) {
      throw new ProblemError(
        404,
        `no aggregate "${name.slice(0, 80)}": there are ${STATS_NAMES.join(", ")}`,
      );
    }
    const schema = StatsViews[name] as { parse(value: unknown): unknown };
    return json(schema.parse(await stats(deps, name, url)));
  }
  return undefined;
}
