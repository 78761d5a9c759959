/**
 * Errors of the MCP transports.
 *
 * @module
 */

/** Thrown when a browser request to `/mcp` comes from another origin (HTTP 403). */
export class McpOriginError extends Error {
  /** Creates the error. */
  constructor(origin: string, options?: ErrorOptions) {
    super(`MCP requests from origin "${origin.slice(0, 100)}" are refused`, options);
    this.name = "McpOriginError";
  }
}
