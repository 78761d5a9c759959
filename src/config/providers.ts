/**
 * The model providers (LLM, embeddings) and evaluation sections, and their
 * parsers. Keys are secrets: an error only ever says one is missing.
 *
 * @module
 */
import { z } from "zod";
import { envSection, type EnvSnapshot, envVar, httpUrl, parseSections, timeoutMs } from "./_env.ts";

const key = z.string().min(1);

/** The LLM and embeddings providers. */
export const PROVIDERS_SECTION = envSection({
  title: "Model providers",
  vars: {
    KEEL_LLM_PROVIDER: envVar(z.enum(["noop", "anthropic"]), {
      default: "noop",
      description: "Model provider for the call_llm activity: noop (refuses every call) or " +
        "anthropic.",
    }),
    ANTHROPIC_API_KEY: envVar(key, {
      secret: true,
      description: "Anthropic API key; required when KEEL_LLM_PROVIDER=anthropic. Never logged.",
    }),
    ANTHROPIC_BASE_URL: envVar(httpUrl, {
      default: "https://api.anthropic.com",
      description: "Anthropic API base URL (scheme and host, no /v1).",
    }),
    KEEL_LLM_TIMEOUT_MS: envVar(timeoutMs, {
      default: "60000",
      description: "Milliseconds before one LLM call is abandoned as a timeout.",
    }),
    KEEL_EMBEDDINGS_PROVIDER: envVar(z.enum(["noop", "openai"]), {
      default: "noop",
      description: "Embeddings provider: noop (refuses every call) or openai.",
    }),
    OPENAI_API_KEY: envVar(key, {
      secret: true,
      description: "OpenAI API key; required when KEEL_EMBEDDINGS_PROVIDER=openai. Never logged.",
    }),
    OPENAI_BASE_URL: envVar(httpUrl, {
      default: "https://api.openai.com",
      description: "OpenAI API base URL (scheme and host, no /v1).",
    }),
    KEEL_EMBEDDINGS_TIMEOUT_MS: envVar(timeoutMs, {
      default: "30000",
      description: "Milliseconds before one embeddings call is abandoned as a timeout.",
    }),
    KEEL_EMBEDDINGS_MODEL: envVar(
      z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/, "must be a model id"),
      {
        default: "text-embedding-3-small",
        description: "The embeddings model. With KEEL_EMBEDDINGS_PROVIDER=openai the worker " +
          "remembers each completed directive (objective and ending) under it, charged to the " +
          "directive's budget, and searches (MCP search_memory, GET /api/memory/search) embed the " +
          "query with it.",
      },
    ),
  },
  check(env, issue) {
    if (env.KEEL_LLM_PROVIDER === "anthropic" && env.ANTHROPIC_API_KEY === undefined) {
      issue("ANTHROPIC_API_KEY", "is required when KEEL_LLM_PROVIDER=anthropic");
    }
    if (env.KEEL_EMBEDDINGS_PROVIDER === "openai" && env.OPENAI_API_KEY === undefined) {
      issue("OPENAI_API_KEY", "is required when KEEL_EMBEDDINGS_PROVIDER=openai");
    }
  },
});

/** Which LLM provider to build, with what it needs. */
export type LlmProviderConfig =
  | { readonly kind: "noop" }
  | {
    readonly kind: "anthropic";
    readonly apiKey: string;
    readonly baseUrl: string;
    readonly timeoutMs: number;
  };

/** Which embeddings provider to build, with what it needs. */
export type EmbeddingsProviderConfig =
  | { readonly kind: "noop" }
  | {
    readonly kind: "openai";
    readonly apiKey: string;
    readonly baseUrl: string;
    readonly timeoutMs: number;
    /** What completed directives are remembered with. */
    readonly model: string;
  };

/** The model providers a worker uses. */
export interface ProvidersConfig {
  /** For `call_llm`. */
  readonly llm: LlmProviderConfig;
  /** For embeddings. */
  readonly embeddings: EmbeddingsProviderConfig;
}

/**
 * Parses the provider settings. Both default to `noop`; an opt-in provider
 * without its key is refused. Error messages never show a key.
 */
export function parseProvidersConfig(env: EnvSnapshot): ProvidersConfig {
  const parsed = parseSections(env, PROVIDERS_SECTION);
  return {
    llm: parsed.KEEL_LLM_PROVIDER === "anthropic"
      ? {
        kind: "anthropic",
        apiKey: parsed.ANTHROPIC_API_KEY ?? "",
        baseUrl: parsed.ANTHROPIC_BASE_URL,
        timeoutMs: parsed.KEEL_LLM_TIMEOUT_MS,
      }
      : { kind: "noop" },
    embeddings: parsed.KEEL_EMBEDDINGS_PROVIDER === "openai"
      ? {
        kind: "openai",
        apiKey: parsed.OPENAI_API_KEY ?? "",
        baseUrl: parsed.OPENAI_BASE_URL,
        timeoutMs: parsed.KEEL_EMBEDDINGS_TIMEOUT_MS,
        model: parsed.KEEL_EMBEDDINGS_MODEL,
      }
      : { kind: "noop" },
  };
}

/** How runs are scored. */
export const EVALUATION_SECTION = envSection({
  title: "Evaluation",
  vars: {
    KEEL_EVALUATOR: envVar(z.enum(["default", "braintrust"]), {
      default: "default",
      description: "Evaluation provider: default (deterministic, stored) or braintrust (also " +
        "logged there).",
    }),
    KEEL_EVALUATION_TIMEOUT_MS: envVar(timeoutMs, {
      default: "10000",
      description: "Milliseconds an evaluator may take before its score is abandoned.",
    }),
    BRAINTRUST_API_KEY: envVar(key, {
      secret: true,
      description: "Braintrust API key; required for the braintrust evaluator. Never logged.",
    }),
    BRAINTRUST_API_URL: envVar(httpUrl, {
      default: "https://api.braintrust.dev",
      description: "Braintrust API base URL.",
    }),
    BRAINTRUST_PROJECT: envVar(z.string().min(1).max(200), {
      default: "keel",
      description: "Braintrust project that receives scores.",
    }),
  },
  check(env, issue) {
    if (env.KEEL_EVALUATOR === "braintrust" && env.BRAINTRUST_API_KEY === undefined) {
      issue("BRAINTRUST_API_KEY", "is required when KEEL_EVALUATOR=braintrust");
    }
  },
});

/** Which evaluation provider scores runs. */
export interface EvaluationConfig {
  /** `default` or `braintrust`. */
  readonly kind: "default" | "braintrust";
  /** Milliseconds before a score is abandoned. */
  readonly timeoutMs: number;
  /** Braintrust settings, when chosen. */
  readonly braintrust?: {
    readonly apiKey: string;
    readonly apiUrl: string;
    readonly project: string;
  };
}

/** Parses the evaluation settings; the Braintrust key is never echoed in an error. */
export function parseEvaluationConfig(env: EnvSnapshot): EvaluationConfig {
  const parsed = parseSections(env, EVALUATION_SECTION);
  return {
    kind: parsed.KEEL_EVALUATOR,
    timeoutMs: parsed.KEEL_EVALUATION_TIMEOUT_MS,
    ...(parsed.KEEL_EVALUATOR === "braintrust"
      ? {
        braintrust: {
          apiKey: parsed.BRAINTRUST_API_KEY ?? "",
          apiUrl: parsed.BRAINTRUST_API_URL,
          project: parsed.BRAINTRUST_PROJECT,
        },
      }
      : {}),
  };
}
