-- Keel's initial schema: the system of record for the control loop.
-- The owner (the role that runs migrations) owns every table; the application
-- connects as keel_app, which gets only the privileges granted at the end.

DO $$
BEGIN
  CREATE ROLE keel_app LOGIN;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN NULL; -- another database on this cluster made it
END
$$;

CREATE TABLE directives (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  type text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]{0,62}$'),
  issued_by text NOT NULL CHECK (char_length(issued_by) BETWEEN 1 AND 200),
  objective text NOT NULL CHECK (char_length(objective) BETWEEN 1 AND 4000),
  scope text[] NOT NULL DEFAULT '{}',
  constraints text[] NOT NULL DEFAULT '{}',
  success_metrics text[] NOT NULL DEFAULT '{}',
  budget_amount numeric(18, 4) NOT NULL CHECK (budget_amount > 0),
  budget_currency char(3) NOT NULL CHECK (budget_currency ~ '^[A-Z]{3}$'),
  timebox_seconds integer NOT NULL CHECK (timebox_seconds > 0),
  payload jsonb NOT NULL DEFAULT '{}',
  idempotency_key text NOT NULL UNIQUE CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
  status text NOT NULL DEFAULT 'draft'
    CHECK (status IN ('draft', 'proposed', 'approved', 'executing', 'complete', 'blocked', 'aborted')),
  version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (updated_at >= created_at)
);
CREATE INDEX directives_status_idx ON directives (status, created_at);
CREATE INDEX directives_type_idx ON directives (type, created_at);

-- The append-only transition ledger: one row per status change.
CREATE TABLE directive_transitions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  directive_id uuid NOT NULL REFERENCES directives (id),
  from_status text
    CHECK (from_status IN ('draft', 'proposed', 'approved', 'executing', 'complete', 'blocked', 'aborted')),
  to_status text NOT NULL
    CHECK (to_status IN ('draft', 'proposed', 'approved', 'executing', 'complete', 'blocked', 'aborted')),
  actor text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 200),
  reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
  at timestamptz NOT NULL DEFAULT now(),
  CHECK (from_status IS DISTINCT FROM to_status)
);
CREATE INDEX directive_transitions_directive_idx ON directive_transitions (directive_id, id);

CREATE FUNCTION keel_refuse_ledger_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'directive_transitions is append-only: % is refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER directive_transitions_no_update_delete
  BEFORE UPDATE OR DELETE ON directive_transitions
  FOR EACH ROW EXECUTE FUNCTION keel_refuse_ledger_change();

-- A row trigger does not fire on TRUNCATE; this statement trigger does.
CREATE TRIGGER directive_transitions_no_truncate
  BEFORE TRUNCATE ON directive_transitions
  FOR EACH STATEMENT EXECUTE FUNCTION keel_refuse_ledger_change();

CREATE TABLE policy_evaluations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  directive_id uuid NOT NULL REFERENCES directives (id),
  policy_name text NOT NULL CHECK (char_length(policy_name) BETWEEN 1 AND 200),
  policy_version text NOT NULL CHECK (char_length(policy_version) BETWEEN 1 AND 100),
  verdict text NOT NULL CHECK (verdict IN ('ALLOW', 'BLOCK')),
  reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
  auto_approve boolean NOT NULL DEFAULT false,
  evaluated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (verdict = 'ALLOW' OR NOT auto_approve)
);
CREATE INDEX policy_evaluations_directive_idx ON policy_evaluations (directive_id, evaluated_at);

CREATE TABLE approvals (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  directive_id uuid NOT NULL UNIQUE REFERENCES directives (id),
  decision text NOT NULL CHECK (decision IN ('approved', 'rejected')),
  actor text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 200),
  reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
  decided_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE execution_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  directive_id uuid NOT NULL REFERENCES directives (id),
  attempt integer NOT NULL CHECK (attempt >= 1),
  idempotency_key text NOT NULL UNIQUE CHECK (char_length(idempotency_key) BETWEEN 1 AND 300),
  module text NOT NULL CHECK (module ~ '^[a-z][a-z0-9_]{0,62}$'),
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'canceled')),
  outcome text CHECK (outcome IN ('SUCCESS', 'FAILURE', 'ERROR')),
  result jsonb,
  message text CHECK (char_length(message) <= 4000),
  budget_consumed numeric(18, 4) CHECK (budget_consumed >= 0),
  started_at timestamptz,
  finished_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (directive_id, attempt),
  -- A finished run says when it finished; an unfinished one has no outcome yet.
  CHECK ((status IN ('completed', 'failed', 'canceled')) = (finished_at IS NOT NULL)),
  CHECK (status IN ('completed', 'failed') OR outcome IS NULL),
  CHECK (finished_at IS NULL OR started_at IS NULL OR finished_at >= started_at)
);

CREATE TABLE artifacts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  directive_id uuid NOT NULL REFERENCES directives (id),
  run_id uuid REFERENCES execution_runs (id),
  kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
  sha256 char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
  content_type text NOT NULL CHECK (char_length(content_type) BETWEEN 1 AND 200),
  inline_content bytea,
  storage_uri text CHECK (char_length(storage_uri) BETWEEN 1 AND 2000),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Small bodies live inline, large ones in the object store: exactly one of the two.
  CHECK ((inline_content IS NULL) <> (storage_uri IS NULL)),
  CHECK (inline_content IS NULL OR (octet_length(inline_content) = size_bytes AND size_bytes < 65536)),
  UNIQUE NULLS NOT DISTINCT (directive_id, run_id, kind, sha256)
);
CREATE INDEX artifacts_kind_idx ON artifacts (kind, created_at);

CREATE FUNCTION keel_refuse_artifact_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'artifacts are immutable: UPDATE is refused'
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER artifacts_immutable
  BEFORE UPDATE ON artifacts
  FOR EACH ROW EXECUTE FUNCTION keel_refuse_artifact_update();

CREATE TABLE evaluations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  directive_id uuid NOT NULL REFERENCES directives (id),
  run_id uuid REFERENCES execution_runs (id),
  evaluator text NOT NULL CHECK (char_length(evaluator) BETWEEN 1 AND 200),
  score double precision NOT NULL CHECK (score >= 0 AND score <= 1),
  dimensions jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(dimensions) = 'object'),
  metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX evaluations_directive_idx ON evaluations (directive_id, created_at);

CREATE TABLE memory_embeddings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  source_type text NOT NULL CHECK (source_type ~ '^[a-z][a-z0-9_]{0,62}$'),
  source_id text NOT NULL CHECK (char_length(source_id) BETWEEN 1 AND 200),
  model text NOT NULL CHECK (char_length(model) BETWEEN 1 AND 200),
  dimensions integer NOT NULL CHECK (dimensions BETWEEN 1 AND 4096),
  content text NOT NULL CHECK (char_length(content) <= 100000),
  embedding double precision[] NOT NULL CHECK (cardinality(embedding) = dimensions),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (source_type, source_id, model)
);

-- The application role: reads and writes rows, owns nothing, and may only
-- append to the ledger and to artifacts.
GRANT USAGE ON SCHEMA public TO keel_app;
GRANT SELECT, INSERT, UPDATE ON directives, policy_evaluations, approvals, execution_runs,
  evaluations, memory_embeddings TO keel_app;
GRANT SELECT, INSERT ON directive_transitions, artifacts TO keel_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO keel_app;
