import { defineModule } from "../define.ts";
import type { ModuleResult } from "../module.ts";
import { createAnthropicProvider } from "../../llm/anthropic.ts";
import { ProviderError } from "../../llm/errors.ts";
import { PRICE_CURRENCY, priceOf, worstCaseCost } from "../../llm/pricing.ts";

/** The model used when the payload names none. */
export const LLM_GENERATE_DEFAULT_MODEL = "claude-sonnet-4-5";
/** The output cap when the payload sets none, and the largest it may set. */
export const LLM_GENERATE_MAX_TOKENS = { default: 1024, max: 8192 } as const;
/** The largest prompt template read, in bytes: part of the worst-case cost. */
export const PROMPT_TEMPLATE_MAX_BYTES = 16 * 1024;

const TEMPLATE_NAME = /^[a-z][a-z0-9_]{0,60}_v\d{1,4}$/;
const RESERVED = new Set(["prompt", "model", "max_tokens"]);
const PLACEHOLDER = /\{\{\s*([a-z][a-z0-9_]{0,62})\s*\}\}/g;

/** What the payload asks for, checked; a message naming the field otherwise. */
export function parseLlmPayload(payload: Readonly<Record<string, unknown>>):
  | { prompt: string; model: string; maxTokens: number; variables: Record<string, string> }
  | { error: string } {
  const prompt = payload.prompt;
  if (typeof prompt !== "string" || !TEMPLATE_NAME.test(prompt)) {
    return { error: `payload.prompt must name a template in prompts/ like "summarize_v1"` };
  }
  const model = payload.model ?? LLM_GENERATE_DEFAULT_MODEL;
  if (typeof model !== "string" || priceOf(model) === undefined) {
    return { error: `payload.model "${String(model).slice(0, 80)}" has no known price` };
  }
  const maxTokens = payload.max_tokens ?? LLM_GENERATE_MAX_TOKENS.default;
  if (
    typeof maxTokens !== "number" || !Number.isInteger(maxTokens) || maxTokens < 1 ||
    maxTokens > LLM_GENERATE_MAX_TOKENS.max
  ) {
    return {
      error: `payload.max_tokens must be an integer from 1 to ${LLM_GENERATE_MAX_TOKENS.max}`,
    };
  }
  const variables: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload)) {
    if (RESERVED.has(key)) continue;
    variables[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { prompt, model, maxTokens, variables };
}

/** The template with each `{{name}}` replaced; names a variable the payload lacks. */
export function renderTemplate(
  template: string,
  variables: Readonly<Record<string, string>>,
): { text: string } | { missing: string[] } {
  const missing = [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((name) =>
    !(name in variables)
  );
  if (missing.length > 0) return { missing: [...new Set(missing)] };
  return { text: template.replace(PLACEHOLDER, (_all, name: string) => variables[name]!) };
}

/** The most a run can cost: the largest template plus the payload, and every output token. */
function worstCaseOf(payload: Readonly<Record<string, unknown>>): string {
  const parsed = parseLlmPayload(payload);
  if ("error" in parsed) return "0"; // refused before any call
  return worstCaseCost(priceOf(parsed.model)!, {
    messages: [{
      content: "x".repeat(PROMPT_TEMPLATE_MAX_BYTES) + JSON.stringify(parsed.variables),
    }],
    maxTokens: parsed.maxTokens,
  });
}

function ended(status: ModuleResult["status"], message: string, result: unknown = null) {
  return { status, result, message, artifacts: [], budgetConsumed: "0" } as ModuleResult;
}

/**
 * Calls a model with a prompt template from `prompts/` filled from the
 * payload, and stores the answer as an artifact. Its worst case is reserved
 * on the directive's budget before it starts and its actual cost charged.
 * Reaches only the provider (`ANTHROPIC_BASE_URL`, default the Anthropic API)
 * as the policy's `net_allow` narrows it.
 */
export const llmGenerateModule = defineModule({
  type: "llm_generate",
  entry: import.meta.url,
  description: "fills a prompts/ template from the payload, calls the model, stores the answer",
  permissions: {
    net: ["api.anthropic.com:443", "127.0.0.1", "localhost"],
    read: ["./prompts"],
    env: ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "KEEL_LLM_TIMEOUT_MS"],
  },
  // A repeat costs again but changes nothing else; each attempt reserves its own worst case.
  retrySafe: true,
  worstCase: worstCaseOf,
  async execute(input, context): Promise<ModuleResult> {
    const parsed = parseLlmPayload(input.payload);
    if ("error" in parsed) return ended("FAILURE", parsed.error);
    let template: string;
    try {
      const url = new URL(`../../../prompts/${parsed.prompt}.md`, import.meta.url);
      const bytes = await Deno.readFile(url);
      if (bytes.length > PROMPT_TEMPLATE_MAX_BYTES) {
        return ended(
          "FAILURE",
          `prompts/${parsed.prompt}.md is over ${PROMPT_TEMPLATE_MAX_BYTES} bytes`,
        );
      }
      template = new TextDecoder().decode(bytes);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return ended("FAILURE", `payload.prompt: no template prompts/${parsed.prompt}.md`);
      }
      throw error;
    }
    const rendered = renderTemplate(template, parsed.variables);
    if ("missing" in rendered) {
      return ended(
        "FAILURE",
        `the payload lacks the template's variable(s): ${rendered.missing.join(", ")}`,
      );
    }
    const apiKey = Deno.env.get("ANTHROPIC_API_KEY");
    if (!apiKey) return ended("FAILURE", "ANTHROPIC_API_KEY is not set for the worker");
    const provider = createAnthropicProvider({
      apiKey,
      baseUrl: Deno.env.get("ANTHROPIC_BASE_URL") ?? "https://api.anthropic.com",
      timeoutMs: Number(Deno.env.get("KEEL_LLM_TIMEOUT_MS") ?? 60_000),
    });
    context.heartbeat();
    try {
      const answer = await provider.complete({
        model: parsed.model,
        maxTokens: parsed.maxTokens,
        messages: [{ role: "user", content: rendered.text }],
      }, { signal: context.signal });
      const cost = answer.usage.estimatedCost?.amount ?? "0";
      return {
        status: "SUCCESS",
        result: {
          model: answer.model,
          prompt: parsed.prompt,
          usage: {
            input_tokens: answer.usage.inputTokens,
            output_tokens: answer.usage.outputTokens,
            cost: `${cost} ${PRICE_CURRENCY}`,
          },
        },
        message: `${answer.usage.outputTokens} output tokens from ${answer.model}`,
        artifacts: [{
          kind: "llm_answer",
          contentType: "text/markdown; charset=utf-8",
          body: new TextEncoder().encode(answer.text),
        }],
        budgetConsumed: cost,
      };
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      // A provider that may answer later is an ERROR (the attempt may be retried);
      // one that refused the request is a FAILURE.
      return ended(
        error.retryable ? "ERROR" : "FAILURE",
        `the provider refused the call (${error.kind}): ${error.message}`.slice(0, 1000),
        { provider_error: error.kind },
      );
    }
  },
});
