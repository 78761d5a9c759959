/**
 * The free text people attach to decisions, aborts and scores, validated once
 * at the edge with the limits the database enforces, so that no such text can
 * reach Postgres and fail there. The API, the CLI, the workflow's Update
 * validators and agent clients all use these schemas.
 *
 * @module
 */
import { z } from "zod";

/** The ledger's limit on a reason, in characters (`directive_transitions.reason`). */
export const LEDGER_REASON_MAX = 2000;

/** The prefix the ledger adds to a rejection's reason. */
export const REJECTED_PREFIX = "rejected: ";

/**
 * The longest reason a person may give: the ledger's limit less the longest
 * prefix Keel adds, so a stored reason always fits.
 */
export const REASON_MAX = LEDGER_REASON_MAX - REJECTED_PREFIX.length;

/** The longest note on a score (`evaluations.note`). */
export const NOTE_MAX = 2000;

/** Why `text` cannot be stored, or undefined when it can. */
export function textProblem(text: string): string | undefined {
  if (text.includes("\u0000")) return "must not contain a NUL character (U+0000)";
  if (!text.isWellFormed()) return "must not contain a lone UTF-16 surrogate";
  return undefined;
}

function storableText(max: number) {
  return z.string()
    .refine((text) => text.trim() !== "", "must not be blank")
    .refine((text) => [...text].length <= max, `must be at most ${max} characters`)
    .superRefine((text, ctx) => {
      const problem = textProblem(text);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    });
}

/** A decision or abort reason. */
export const DecisionReason = storableText(REASON_MAX);

/** A note on a score. */
export const ScoreNote = storableText(NOTE_MAX);

/** The body of approve, reject and abort, wherever it arrives. */
export const DecisionBody = z.object({ reason: DecisionReason }).strict();

/** A decision body. */
export type DecisionBody = z.infer<typeof DecisionBody>;
