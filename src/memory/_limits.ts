import { z } from "zod";
import { MemoryQueryError } from "./errors.ts";

/** The most rows any named query returns. */
export const MEMORY_MAX_LIMIT = 100;

/** The most hits a semantic search returns. */
export const SEMANTIC_MAX_LIMIT = 50;

/** Parses a query's input with zod, naming each bad field in one error. */
export function parseQuery<T>(schema: z.ZodType<T>, query: string, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) =>
    `${issue.path.join(".") || "(input)"}: ${issue.message}`
  );
  throw new MemoryQueryError(`Invalid ${query} query: ${problems.join("; ")}`, {
    cause: result.error,
  });
}

/** A row limit between 1 and `max`. */
export function limit(max: number, fallback: number) {
  return z.number().int().min(1).max(max).default(fallback);
}
