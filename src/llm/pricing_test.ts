import { assertEquals } from "@std/assert";
import { costOf, formatScaled, priceOf, worstCaseCost, worstCaseInputTokens } from "./pricing.ts";

Deno.test("priceOf picks the longest matching prefix and knows no unlisted model", () => {
  assertEquals(priceOf("claude-opus-4-5-20251101")?.inputPerMillion, "5");
  assertEquals(priceOf("claude-opus-4-1-20250805")?.inputPerMillion, "15");
  assertEquals(priceOf("gpt-unknown"), undefined);
});

Deno.test("costs are exact and rounded up to the ledger's 4 places", () => {
  const price = { inputPerMillion: "3", outputPerMillion: "15" };
  assertEquals(costOf(price, 0, 0), "0.0000");
  assertEquals(costOf(price, 1, 0), "0.0001", "a single token is never free");
  assertEquals(costOf(price, 12, 40), "0.0007");
  assertEquals(costOf(price, 1_000_000, 1_000_000), "18.0000");
  assertEquals(costOf({ inputPerMillion: "0.02", outputPerMillion: "0" }, 5_000_000, 0), "0.1000");
  assertEquals(formatScaled(123456789n), "12345.6789");
});

Deno.test("the worst case bounds input by UTF-8 bytes and output by maxTokens", () => {
  const bounds = {
    system: "é", // 2 bytes
    messages: [{ content: "hello" }, { content: "☃" }], // 5 + 3 bytes
    maxTokens: 100,
  };
  assertEquals(worstCaseInputTokens(bounds), 16 + 2 + (16 + 5) + (16 + 3));
  const price = { inputPerMillion: "1000000", outputPerMillion: "0" }; // $1 per token
  assertEquals(worstCaseCost(price, bounds), "58.0000");
});
