/**
 * Estimated prices, in exact decimal arithmetic. Costs are rounded *up* to the
 * ledger's 4 decimal places, so the ledger never records less than was spent.
 *
 * @module
 */
import { formatScaled, scaledDecimal } from "../models/mod.ts";

/** Price of one model in US dollars per million tokens, as decimal strings. */
export interface ModelPrice {
  /** Per million input tokens. */
  readonly inputPerMillion: string;
  /** Per million output tokens (`"0"` for embeddings). */
  readonly outputPerMillion: string;
}

/**
 * List prices by model-name prefix (longest prefix wins). Estimates for the
 * budget ledger, not invoices: update them here when the providers change theirs.
 */
export const MODEL_PRICES: Readonly<Record<string, ModelPrice>> = {
  "claude-opus-4-5": { inputPerMillion: "5", outputPerMillion: "25" },
  "claude-opus-4": { inputPerMillion: "15", outputPerMillion: "75" },
  "claude-sonnet-4": { inputPerMillion: "3", outputPerMillion: "15" },
  "claude-haiku-4": { inputPerMillion: "1", outputPerMillion: "5" },
  "claude-3-5-haiku": { inputPerMillion: "0.8", outputPerMillion: "4" },
  "text-embedding-3-small": { inputPerMillion: "0.02", outputPerMillion: "0" },
  "text-embedding-3-large": { inputPerMillion: "0.13", outputPerMillion: "0" },
  "text-embedding-ada-002": { inputPerMillion: "0.1", outputPerMillion: "0" },
};

/** The currency of every price in {@linkcode MODEL_PRICES}. */
export const PRICE_CURRENCY = "USD";

/** The price of `model`, or `undefined` when no prefix in `prices` matches. */
export function priceOf(
  model: string,
  prices: Readonly<Record<string, ModelPrice>> = MODEL_PRICES,
): ModelPrice | undefined {
  let best: string | undefined;
  for (const prefix of Object.keys(prices)) {
    if (model.startsWith(prefix) && (best === undefined || prefix.length > best.length)) {
      best = prefix;
    }
  }
  return best === undefined ? undefined : prices[best];
}

const MILLION = 1_000_000n;

/** The cost of a token count, in ten-thousandths of a dollar, rounded up. */
export function scaledCost(price: ModelPrice, inputTokens: number, outputTokens: number): bigint {
  const micro = BigInt(inputTokens) * scaledDecimal(price.inputPerMillion) +
    BigInt(outputTokens) * scaledDecimal(price.outputPerMillion);
  return (micro + MILLION - 1n) / MILLION;
}

/** The cost of a token count as a decimal string with 4 places, rounded up. */
export function costOf(price: ModelPrice, inputTokens: number, outputTokens: number): string {
  return formatScaled(scaledCost(price, inputTokens, outputTokens));
}

/** The parts of a request that bound its cost. */
export interface CostBounds {
  /** The system prompt, if any. */
  readonly system?: string | undefined;
  /** The message texts. */
  readonly messages: readonly { readonly content: string }[];
  /** The output cap. */
  readonly maxTokens: number;
}

// Per-message framing tokens: generous, so the bound stays an upper bound.
const FRAMING_TOKENS = 16;

/**
 * An upper bound on input tokens: no tokenizer emits more tokens than UTF-8
 * bytes, plus framing per message. Cheap, and never an underestimate.
 */
export function worstCaseInputTokens(bounds: CostBounds): number {
  const encoder = new TextEncoder();
  let tokens = FRAMING_TOKENS;
  if (bounds.system !== undefined) tokens += encoder.encode(bounds.system).length;
  for (const message of bounds.messages) {
    tokens += FRAMING_TOKENS + encoder.encode(message.content).length;
  }
  return tokens;
}

/** The most a call can cost: worst-case input plus every allowed output token. */
export function worstCaseCost(price: ModelPrice, bounds: CostBounds): string {
  return costOf(price, worstCaseInputTokens(bounds), bounds.maxTokens);
}

export { formatScaled } from "../models/mod.ts";
