/**
 * The budget ledger: one account per directive for everything it spends,
 * execution modules and model calls alike. Spending reserves its worst case
 * first and is settled after.
 *
 * @module
 */
export * from "./ledger.ts";
export * from "./settle.ts";
export * from "./trail.ts";
export * from "./daily.ts";
