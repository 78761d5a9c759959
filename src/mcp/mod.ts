/**
 * Keel for agents over the Model Context Protocol: tools to propose and
 * follow directives, never to approve them.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./http.ts";
export * from "./server.ts";
export * from "./tools.ts";
