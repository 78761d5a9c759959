-- Working memory: a bounded scratchpad per directive (key -> JSON), written by
-- the directive's module through its host API while one of the directive's
-- runs is running, read by later attempts, and kept with the directive's
-- record. Each write appends a version of its key; a deletion appends a
-- version with no value. A key's value is its highest version. Nothing is
-- updated or deleted, so the record shows every value a key ever held and
-- which run wrote it.

CREATE TABLE working_memory (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- No foreign key to directives: an insert would take a share lock on the
  -- directive's row and wait behind an evaluation that holds it. The guard
  -- below checks the directive through the run instead.
  directive_id uuid NOT NULL,
  run_id uuid NOT NULL REFERENCES execution_runs (id),
  key text NOT NULL CHECK (key ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$'),
  version integer NOT NULL CHECK (version >= 1),
  -- NULL: the key was deleted by this version.
  value jsonb,
  size_bytes integer NOT NULL GENERATED ALWAYS AS (coalesce(octet_length(value::text), 0)) STORED,
  written_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (directive_id, key, version)
);

-- A row is written by a running run of its own directive, and continues its
-- key's versions without a gap.
CREATE FUNCTION keel_guard_working_memory() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM execution_runs r
     WHERE r.id = NEW.run_id AND r.directive_id = NEW.directive_id AND r.status = 'running'
  ) THEN
    RAISE EXCEPTION 'working memory of directive "%" is written only by one of its running runs; run "%" is not one',
      NEW.directive_id, NEW.run_id USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.version > 1 AND NOT EXISTS (
    SELECT 1 FROM working_memory w
     WHERE w.directive_id = NEW.directive_id AND w.key = NEW.key AND w.version = NEW.version - 1
  ) THEN
    RAISE EXCEPTION 'working memory key "%" of directive "%" has no version % for version % to follow',
      NEW.key, NEW.directive_id, NEW.version - 1, NEW.version USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER working_memory_append
  BEFORE INSERT ON working_memory
  FOR EACH ROW EXECUTE FUNCTION keel_guard_working_memory();
CREATE TRIGGER working_memory_append_only
  BEFORE UPDATE OR DELETE ON working_memory
  FOR EACH ROW EXECUTE FUNCTION keel_refuse_append_only_change();
CREATE TRIGGER working_memory_no_truncate
  BEFORE TRUNCATE ON working_memory
  FOR EACH STATEMENT EXECUTE FUNCTION keel_refuse_append_only_change();

GRANT SELECT, INSERT ON working_memory TO keel_app;
