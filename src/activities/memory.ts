import { BudgetExceededError, BudgetLedgerError, charge, release, reserve } from "../budget/mod.ts";
import type { Sql } from "../db/mod.ts";
import type { EmbeddingsProvider } from "../embeddings/mod.ts";
import { PRICE_CURRENCY, priceOf, worstCaseCost } from "../llm/pricing.ts";
import { completedSince, memoryContent, rememberEmbedding } from "../memory/mod.ts";
import type { Logger } from "../telemetry/log.ts";

/** What the memory indexer needs. */
export interface MemoryIndexDeps {
  /** The application's database client. */
  readonly sql: Sql;
  /** The structured logger. */
  readonly log: Logger;
  /** The embeddings provider and model; without them nothing is indexed. */
  readonly memory?: { readonly embeddings: EmbeddingsProvider; readonly model: string };
}

/** Where a pass ended and what it did. */
export interface IndexReport {
  /** The last ledger row handled: the next pass starts after it. */
  readonly after: string;
  readonly indexed: number;
  /** Refused by their budget (or its currency): passed over for good, logged. */
  readonly skipped: number;
}

/** Builds the indexer's activity. */
export function createMemoryActivities(deps: MemoryIndexDeps) {
  return {
    /**
     * Embeds up to `limit` directives that completed after ledger row
     * `after`: each call's worst case is reserved on the directive's own
     * budget and its cost charged there. A provider failure stops the pass
     * (retried later from the same position); a budget refusal skips it.
     */
    async indexMemories(input: { after: string; limit: number }): Promise<IndexReport> {
      const memory = deps.memory;
      let after = input.after;
      let indexed = 0;
      let skipped = 0;
      if (memory === undefined) return { after, indexed, skipped };
      const price = priceOf(memory.model);
      for (const candidate of await completedSince(deps.sql, after, memory.model, input.limit)) {
        const content = memoryContent(candidate);
        const key = `memory/${candidate.id}/${memory.model}`;
        const estimate = price === undefined
          ? "0"
          : worstCaseCost(price, { messages: [{ content }], maxTokens: 0 });
        try {
          await reserve(deps.sql, {
            directiveId: candidate.id,
            key,
            provider: memory.embeddings.name,
            model: memory.model,
            estimate,
            currency: PRICE_CURRENCY,
            action: "embed its memory",
            afterCompletion: true,
          });
        } catch (error) {
          if (!(error instanceof BudgetExceededError || error instanceof BudgetLedgerError)) {
            throw error;
          }
          deps.log.warn("directive not remembered: its budget refused the embedding", {
            directive_id: candidate.id,
            error,
          });
          skipped++;
          after = candidate.seq;
          continue;
        }
        let vector: readonly number[];
        let cost: string;
        try {
          const answer = await memory.embeddings.embed({ model: memory.model, inputs: [content] });
          vector = answer.vectors[0] ?? [];
          cost = answer.usage.estimatedCost?.amount ?? "0";
        } catch (error) {
          await release(deps.sql, key);
          throw error;
        }
        await rememberEmbedding(deps.sql, {
          sourceType: "directive",
          sourceId: candidate.id,
          model: memory.model,
          content,
          embedding: vector,
        });
        await charge(deps.sql, key, {
          amount: cost,
          inputTokens: null,
          outputTokens: null,
          response: { memory: "directive" },
        });
        indexed++;
        after = candidate.seq;
      }
      return { after, indexed, skipped };
    },
  };
}

/** The indexer's activities, for `proxyActivities`. */
export type MemoryActivities = ReturnType<typeof createMemoryActivities>;
