-- Semantic memory search as one function with one signature on every server:
-- exact cosine similarity in plain SQL, replaced below by a pgvector version
-- (HNSW indexes) when the server has the `vector` extension. Callers never
-- branch on the server, and never see a raw vector: only scores.

CREATE INDEX memory_embeddings_model_idx ON memory_embeddings (model, dimensions);

CREATE FUNCTION keel_memory_search(
  query double precision[],
  model_name text,
  source_kind text,
  max_rows integer
) RETURNS TABLE (source_type text, source_id text, model text, content text, score double precision)
LANGUAGE sql STABLE AS $$
  SELECT m.source_type, m.source_id, m.model, m.content, s.score
    FROM memory_embeddings m,
         LATERAL (
           SELECT sum(a * b) / nullif(sqrt(sum(a * a)) * sqrt(sum(b * b)), 0) AS score
             FROM unnest(m.embedding, query) AS pair (a, b)
         ) s
   WHERE m.model = model_name
     AND m.dimensions = cardinality(query)
     AND (source_kind IS NULL OR m.source_type = source_kind)
   ORDER BY s.score DESC NULLS LAST, m.source_type, m.source_id
   LIMIT max_rows
$$;

-- Which search the server runs, for logs and tests.
CREATE FUNCTION keel_memory_search_mode() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT 'exact' $$;

DO $do$
DECLARE
  dims integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    RETURN;
  END IF;
  CREATE EXTENSION IF NOT EXISTS vector;
  -- HNSW needs a fixed dimension: one partial index per common embedding size.
  -- Other sizes are still searched with pgvector, by an exact scan.
  FOREACH dims IN ARRAY ARRAY[384, 768, 1024, 1536] LOOP
    EXECUTE format(
      'CREATE INDEX memory_embeddings_hnsw_%1$s ON memory_embeddings '
      'USING hnsw ((embedding::vector(%1$s)) vector_cosine_ops) WHERE dimensions = %1$s',
      dims);
  END LOOP;
  CREATE OR REPLACE FUNCTION keel_memory_search(
    query double precision[],
    model_name text,
    source_kind text,
    max_rows integer
  ) RETURNS TABLE (source_type text, source_id text, model text, content text, score double precision)
  LANGUAGE plpgsql STABLE AS $fn$
  DECLARE
    dims integer := cardinality(query);
  BEGIN
    -- The typmod is written into the statement so the planner can match the
    -- partial HNSW index for this size; it is an integer, never caller text.
    -- The index can only serve an ORDER BY on the distance alone, so ties are
    -- broken by source outside it, as in the exact search.
    RETURN QUERY EXECUTE format(
      'SELECT hit.source_type, hit.source_id, hit.model, hit.content, hit.score FROM ('
      '  SELECT m.source_type, m.source_id, m.model, m.content, '
      '         1 - ((m.embedding::vector(%1$s)) <=> ($1::vector(%1$s)))::double precision AS score '
      '    FROM memory_embeddings m '
      '   WHERE m.dimensions = %1$s AND m.model = $2 AND ($3::text IS NULL OR m.source_type = $3) '
      '   ORDER BY (m.embedding::vector(%1$s)) <=> ($1::vector(%1$s)) '
      '   LIMIT $4) hit '
      ' ORDER BY hit.score DESC, hit.source_type, hit.source_id',
      dims)
      USING query, model_name, source_kind, max_rows;
  END
  $fn$;
  CREATE OR REPLACE FUNCTION keel_memory_search_mode() RETURNS text
  LANGUAGE sql STABLE AS $fn$ SELECT 'pgvector' $fn$;
END
$do$;

GRANT EXECUTE ON FUNCTION keel_memory_search(double precision[], text, text, integer) TO keel_app;
GRANT EXECUTE ON FUNCTION keel_memory_search_mode() TO keel_app;
