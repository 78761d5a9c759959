/** Thrown when a memory query or write is malformed; the message names the field. */
export class MemoryQueryError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MemoryQueryError";
  }
}
