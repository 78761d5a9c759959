import { z } from "zod";
import type { Sql } from "../db/mod.ts";
import { DirectiveRow } from "../models/mod.ts";
import { limit, MEMORY_MAX_LIMIT, parseQuery, SEMANTIC_MAX_LIMIT } from "./_limits.ts";
import { readOnly } from "./_read_only.ts";

/** One run of a directive, without its result body. */
export interface ExecutionSummary {
  readonly runId: string;
  readonly attempt: number;
  readonly module: string;
  readonly status: string;
  readonly outcome: string | null;
  readonly message: string | null;
  readonly durationMs: number | null;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
}

/** An artifact's metadata; bodies are read through `src/artifacts/`, never here. */
export interface ArtifactSummary {
  readonly artifactId: string;
  readonly directiveId: string;
  readonly runId: string | null;
  readonly kind: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly contentType: string;
  readonly createdAt: Date;
}

/** A semantic search hit: a score, never a vector. */
export interface MemoryHit {
  readonly sourceType: string;
  readonly sourceId: string;
  readonly model: string;
  readonly content: string;
  /** Cosine similarity in [-1, 1]; higher is closer. */
  readonly score: number;
}

/** A directive found by its objective's text. */
export interface DirectiveMatch {
  readonly directiveId: string;
  readonly type: string;
  readonly status: string;
  readonly objective: string;
  readonly createdAt: Date;
}

/** The read-only memory reader: named, bounded queries only. */
export interface MemoryReader {
  /** The newest directive an issuer submitted. */
  latestDirectiveByIssuer(issuedBy: string): Promise<DirectiveRow | undefined>;
  /** The newest directive of a type. */
  latestDirectiveByType(type: string): Promise<DirectiveRow | undefined>;
  /** A directive's runs, oldest attempt first. */
  executionSummaries(
    directiveId: string,
    options?: { limit?: number },
  ): Promise<ExecutionSummary[]>;
  /** The newest artifacts of a kind, optionally of one directive. */
  artifactsByType(
    kind: string,
    options?: { limit?: number; directiveId?: string },
  ): Promise<ArtifactSummary[]>;
  /** The stored embeddings closest to `vector` by cosine similarity. */
  semanticSearch(
    query: { vector: readonly number[]; model: string; sourceType?: string; limit?: number },
  ): Promise<MemoryHit[]>;
  /**
   * Directives whose objective contains `text` (case-insensitive), newest
   * first: the search an agent has when no embeddings provider is configured.
   */
  directivesMatching(
    text: string,
    options?: { limit?: number },
  ): Promise<DirectiveMatch[]>;
  /** `pgvector` or `exact`: which search this database runs. */
  searchMode(): Promise<"pgvector" | "exact">;
}

const text = z.string().trim().min(1).max(200);
const uuid = z.uuid();
const kind = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "must be a snake_case kind");
const runsQuery = z.strictObject({ directiveId: uuid, limit: limit(MEMORY_MAX_LIMIT, 20) });
const artifactsQuery = z.strictObject({
  kind,
  directiveId: uuid.optional(),
  limit: limit(MEMORY_MAX_LIMIT, 20),
});
const matchQuery = z.strictObject({ text, limit: limit(MEMORY_MAX_LIMIT, 10) });
const searchQuery = z.strictObject({
  vector: z.array(z.number().refine(Number.isFinite, "must be finite")).min(1).max(4096),
  model: text,
  sourceType: kind.optional(),
  limit: limit(SEMANTIC_MAX_LIMIT, 10),
});

/** Creates the reader over an application pool; every call is one READ ONLY transaction. */
export function createMemoryReader(sql: Sql): MemoryReader {
  async function latest(column: "issued_by" | "type", value: unknown) {
    const checked = parseQuery(text, `latest directive by ${column}`, value);
    const [row] = await readOnly(
      sql,
      (tx) =>
        column === "issued_by"
          ? tx`SELECT * FROM directives WHERE issued_by = ${checked}
              ORDER BY created_at DESC, id DESC LIMIT 1`
          : tx`SELECT * FROM directives WHERE type = ${checked}
              ORDER BY created_at DESC, id DESC LIMIT 1`,
      { query: `latest_directive_by_${column === "issued_by" ? "issuer" : "type"}` },
    );
    return row ? DirectiveRow.parse(row) : undefined;
  }
  return {
    latestDirectiveByIssuer: (issuedBy) => latest("issued_by", issuedBy),
    latestDirectiveByType: (type) => latest("type", type),
    async executionSummaries(directiveId, options = {}) {
      const q = parseQuery(runsQuery, "execution summaries", { directiveId, ...options });
      const rows = await readOnly(
        sql,
        (tx) =>
          tx`SELECT id, attempt, module, status, outcome, message, duration_ms, started_at, finished_at
             FROM execution_runs WHERE directive_id = ${q.directiveId}
            ORDER BY attempt LIMIT ${q.limit}`,
        { query: "execution_summaries" },
      );
      return rows.map((r) => ({
        runId: r.id,
        attempt: r.attempt,
        module: r.module,
        status: r.status,
        outcome: r.outcome,
        message: r.message,
        durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
        startedAt: r.started_at,
        finishedAt: r.finished_at,
      }));
    },
    async artifactsByType(kindName, options = {}) {
      const q = parseQuery(artifactsQuery, "artifacts by type", { kind: kindName, ...options });
      const rows = await readOnly(
        sql,
        (tx) =>
          tx`SELECT id, directive_id, run_id, kind, sha256, size_bytes, content_type, created_at
             FROM artifacts
            WHERE kind = ${q.kind} AND (${q.directiveId ?? null}::uuid IS NULL
                  OR directive_id = ${q.directiveId ?? null}::uuid)
            ORDER BY created_at DESC, id DESC LIMIT ${q.limit}`,
        { query: "artifacts_by_type" },
      );
      return rows.map((r) => ({
        artifactId: r.id,
        directiveId: r.directive_id,
        runId: r.run_id,
        kind: r.kind,
        sha256: r.sha256,
        sizeBytes: Number(r.size_bytes),
        contentType: r.content_type,
        createdAt: r.created_at,
      }));
    },
    async semanticSearch(query) {
      const q = parseQuery(searchQuery, "semantic search", query);
      const rows = await readOnly(
        sql,
        (tx) =>
          tx`SELECT source_type, source_id, model, content, score
             FROM keel_memory_search(${q.vector as number[]}::float8[], ${q.model},
               ${q.sourceType ?? null}, ${q.limit})`,
        { query: "semantic_search" },
      );
      return rows.map((r) => ({
        sourceType: r.source_type,
        sourceId: r.source_id,
        model: r.model,
        content: r.content,
        score: Number(r.score),
      }));
    },
    async directivesMatching(needle, options = {}) {
      const q = parseQuery(matchQuery, "directives matching", { text: needle, ...options });
      // LIKE's own wildcards in the text are matched literally.
      const pattern = `%${q.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const rows = await readOnly(
        sql,
        (tx) =>
          tx`SELECT id, type, status, objective, created_at FROM directives
              WHERE objective ILIKE ${pattern}
              ORDER BY created_at DESC, id DESC LIMIT ${q.limit}`,
        { query: "directives_matching" },
      );
      return rows.map((r) => ({
        directiveId: r.id,
        type: r.type,
        status: r.status,
        objective: r.objective,
        createdAt: r.created_at,
      }));
    },
    async searchMode() {
      const [row] = await readOnly(sql, (tx) => tx`SELECT keel_memory_search_mode() AS mode`, {
        query: "search_mode",
      });
      return row?.mode === "pgvector" ? "pgvector" : "exact";
    },
  };
}
