/**
 * Notifications: webhook subscriptions, the events the database records for
 * them, and their signed, retried, logged delivery. Nothing here can change
 * a directive.
 *
 * @module
 */
export * from "./subscriptions.ts";
export * from "./deliveries.ts";
export * from "./send.ts";
