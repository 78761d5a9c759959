-- Retention: an explicit, narrow, owner-run prune of execution payloads and
-- artifact bodies past their retention. keel_app cannot call it. The ledger,
-- approvals, policy evaluations and evaluations are never touched; every
-- pruned row leaves a tombstone saying what was removed, when and by whom.

DO $$
BEGIN
  CREATE ROLE keel_prune NOLOGIN;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN NULL; -- another database on this cluster made it
END
$$;

ALTER TABLE artifacts ADD COLUMN pruned_at timestamptz;

-- A pruned inline artifact keeps its sha256, size and kind but no body.
DO $$
DECLARE
  name text;
BEGIN
  SELECT conname INTO STRICT name FROM pg_constraint
   WHERE conrelid = 'artifacts'::regclass AND contype = 'c'
     AND pg_get_constraintdef(oid) LIKE '%(inline_content IS NULL) <> (storage_uri IS NULL)%';
  EXECUTE format('ALTER TABLE artifacts DROP CONSTRAINT %I', name);
END
$$;
ALTER TABLE artifacts ADD CONSTRAINT artifacts_body_location CHECK (
  (inline_content IS NULL) <> (storage_uri IS NULL)
  OR (pruned_at IS NOT NULL AND inline_content IS NULL)
);

CREATE TABLE retention_tombstones (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  table_name text NOT NULL CHECK (table_name IN ('artifacts', 'execution_runs')),
  row_id uuid NOT NULL,
  directive_id uuid NOT NULL REFERENCES directives (id),
  bytes_removed bigint NOT NULL CHECK (bytes_removed >= 0),
  storage_uri text CHECK (char_length(storage_uri) BETWEEN 1 AND 2000),
  cutoff timestamptz NOT NULL,
  actor text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 200),
  pruned_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (table_name, row_id)
);
CREATE INDEX retention_tombstones_directive_idx ON retention_tombstones (directive_id);

-- Artifacts stay immutable except for one shape of update, made only inside
-- keel_prune_payloads: the body goes, pruned_at is set, nothing else moves.
CREATE OR REPLACE FUNCTION keel_refuse_artifact_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('keel.pruning', true) = 'on'
     AND OLD.pruned_at IS NULL AND NEW.pruned_at IS NOT NULL AND NEW.inline_content IS NULL
     AND (NEW.id, NEW.directive_id, NEW.run_id, NEW.kind, NEW.sha256, NEW.size_bytes,
          NEW.content_type, NEW.storage_uri, NEW.created_at)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.directive_id, OLD.run_id, OLD.kind, OLD.sha256, OLD.size_bytes,
          OLD.content_type, OLD.storage_uri, OLD.created_at) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'artifacts are immutable: UPDATE is refused'
    USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Prunes payloads of directives in a terminal status whose rows are older
-- than cutoff. Idempotent: a second call finds nothing left to prune.
CREATE FUNCTION keel_prune_payloads(cutoff timestamptz, actor text, dry_run boolean DEFAULT false)
RETURNS TABLE (artifacts_pruned bigint, runs_pruned bigint, bytes_removed bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  a_count bigint;
  a_bytes bigint;
  r_count bigint;
  r_bytes bigint;
BEGIN
  IF cutoff > now() THEN
    RAISE EXCEPTION 'prune payloads: cutoff "%" is in the future', cutoff
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF actor IS NULL OR char_length(actor) NOT BETWEEN 1 AND 200 THEN
    RAISE EXCEPTION 'prune payloads: actor "%" must be 1 to 200 characters', actor
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  CREATE TEMP TABLE IF NOT EXISTS keel_prune_artifacts (id uuid, directive_id uuid, bytes bigint, uri text)
    ON COMMIT DROP;
  CREATE TEMP TABLE IF NOT EXISTS keel_prune_runs (id uuid, directive_id uuid, bytes bigint)
    ON COMMIT DROP;
  TRUNCATE keel_prune_artifacts, keel_prune_runs;

  INSERT INTO keel_prune_artifacts
  SELECT a.id, a.directive_id, a.size_bytes, a.storage_uri
    FROM artifacts a JOIN directives d ON d.id = a.directive_id
   WHERE a.pruned_at IS NULL AND a.created_at < cutoff
     AND d.status IN ('complete', 'blocked', 'aborted')
   FOR UPDATE OF a;
  INSERT INTO keel_prune_runs
  SELECT r.id, r.directive_id, octet_length(r.result::text)
    FROM execution_runs r JOIN directives d ON d.id = r.directive_id
   WHERE r.result IS NOT NULL AND r.finished_at IS NOT NULL AND r.finished_at < cutoff
     AND d.status IN ('complete', 'blocked', 'aborted')
   FOR UPDATE OF r;

  SELECT count(*), coalesce(sum(bytes), 0) INTO a_count, a_bytes FROM keel_prune_artifacts;
  SELECT count(*), coalesce(sum(bytes), 0) INTO r_count, r_bytes FROM keel_prune_runs;

  IF NOT dry_run THEN
    PERFORM set_config('keel.pruning', 'on', true);
    UPDATE artifacts a SET inline_content = NULL, pruned_at = now()
      FROM keel_prune_artifacts p WHERE a.id = p.id;
    PERFORM set_config('keel.pruning', 'off', true);
    UPDATE execution_runs r SET result = NULL FROM keel_prune_runs p WHERE r.id = p.id;
    INSERT INTO retention_tombstones
      (table_name, row_id, directive_id, bytes_removed, storage_uri, cutoff, actor)
    SELECT 'artifacts', id, directive_id, bytes, uri, cutoff, actor FROM keel_prune_artifacts
    UNION ALL
    SELECT 'execution_runs', id, directive_id, bytes, NULL, cutoff, actor FROM keel_prune_runs
    ON CONFLICT (table_name, row_id) DO NOTHING;
  END IF;
  RETURN QUERY SELECT a_count, r_count, a_bytes + r_bytes;
END
$$;

REVOKE ALL ON FUNCTION keel_prune_payloads(timestamptz, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION keel_prune_payloads(timestamptz, text, boolean) TO keel_prune;
GRANT SELECT ON retention_tombstones TO keel_app, keel_prune;
