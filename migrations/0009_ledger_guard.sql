-- A ledger the application role cannot forge. keel_app no longer writes
-- ledger rows or directive status itself: a directive's creation row is
-- written by a trigger, and every later transition goes through one
-- SECURITY DEFINER function that locks the row, checks the move, and writes
-- the status and its ledger row together. Governance records (approvals,
-- policy verdicts, evaluations) become append-only for every role, and
-- budget history gains an append-only trail of every state a row held.

-- Who submitted a directive (the authenticated principal), as distinct from
-- who the document says issued it. The creation ledger row's actor.
ALTER TABLE directives
  ADD COLUMN submitted_by text CHECK (char_length(submitted_by) BETWEEN 1 AND 200);
ALTER TABLE directives DISABLE TRIGGER directives_guard;
UPDATE directives SET submitted_by = issued_by;
ALTER TABLE directives ENABLE TRIGGER directives_guard;
ALTER TABLE directives ALTER COLUMN submitted_by SET NOT NULL;

-- The guard of 0002, with submitted_by frozen as intent too.
CREATE OR REPLACE FUNCTION keel_guard_directive() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status <> 'draft' OR NEW.version <> 1 THEN
      RAISE EXCEPTION 'a directive is created as draft at version 1, not % at version %',
        NEW.status, NEW.version USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'directives are never deleted (directive %)', OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF (NEW.id, NEW.type, NEW.issued_by, NEW.submitted_by, NEW.objective, NEW.scope,
      NEW.constraints, NEW.success_metrics, NEW.budget_amount, NEW.budget_currency,
      NEW.timebox_seconds, NEW.payload, NEW.idempotency_key, NEW.created_at)
     IS DISTINCT FROM
     (OLD.id, OLD.type, OLD.issued_by, OLD.submitted_by, OLD.objective, OLD.scope,
      OLD.constraints, OLD.success_metrics, OLD.budget_amount, OLD.budget_currency,
      OLD.timebox_seconds, OLD.payload, OLD.idempotency_key, OLD.created_at) THEN
    RAISE EXCEPTION 'directive % is frozen intent: only status, version and updated_at may change', OLD.id
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status
     AND NOT keel_directive_transition_allowed(OLD.status, NEW.status) THEN
    RAISE EXCEPTION 'illegal directive transition % -> % (directive %)', OLD.status, NEW.status, OLD.id
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.version <> OLD.version + 1 THEN
    RAISE EXCEPTION 'directive % version must advance from % to %, not to %',
      OLD.id, OLD.version, OLD.version + 1, NEW.version USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;

-- A per-directive sequence number: 1 for the creation row, then 2, 3, ...
-- Assigned by the chain trigger, so a gap means a row was removed.
ALTER TABLE directive_transitions ADD COLUMN seq integer CHECK (seq >= 1);
ALTER TABLE directive_transitions DISABLE TRIGGER directive_transitions_no_update_delete;
UPDATE directive_transitions t SET seq = n.seq
  FROM (SELECT id, row_number() OVER (PARTITION BY directive_id ORDER BY id) AS seq
          FROM directive_transitions) n
 WHERE t.id = n.id;
ALTER TABLE directive_transitions ENABLE TRIGGER directive_transitions_no_update_delete;
ALTER TABLE directive_transitions
  ALTER COLUMN seq SET NOT NULL,
  ADD CONSTRAINT directive_transitions_seq UNIQUE (directive_id, seq);

-- The chain trigger of 0002, now also numbering rows. The hashed content is unchanged.
CREATE OR REPLACE FUNCTION keel_chain_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  prev_seq integer;
BEGIN
  NEW.at := date_trunc('milliseconds', NEW.at);
  SELECT t.hash, t.seq INTO NEW.prev_hash, prev_seq
    FROM directive_transitions t
   WHERE t.directive_id = NEW.directive_id
   ORDER BY t.id DESC
   LIMIT 1;
  NEW.prev_hash := coalesce(NEW.prev_hash, repeat('0', 64));
  NEW.seq := coalesce(prev_seq, 0) + 1;
  NEW.hash := encode(sha256(convert_to(
    keel_ledger_field(NEW.directive_id::text) ||
    keel_ledger_field(NEW.from_status) ||
    keel_ledger_field(NEW.to_status) ||
    keel_ledger_field(NEW.actor) ||
    keel_ledger_field(NEW.reason) ||
    keel_ledger_field(to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) ||
    keel_ledger_field(NEW.prev_hash),
    'UTF8')), 'hex');
  RETURN NEW;
END
$$;

-- The creation row: written by the database whenever a directive is inserted,
-- with the submitter as actor. keel_app cannot write it any other way.
CREATE FUNCTION keel_record_directive_creation() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO directive_transitions (directive_id, from_status, to_status, actor, reason)
  VALUES (NEW.id, NULL, NEW.status, NEW.submitted_by, 'submitted');
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION keel_record_directive_creation() FROM PUBLIC;

CREATE TRIGGER directives_creation_row
  AFTER INSERT ON directives
  FOR EACH ROW EXECUTE FUNCTION keel_record_directive_creation();

-- The one way to change a directive's status: locks the directive, checks the
-- expected version and status and the lifecycle rule, then writes the status
-- and its ledger row together. Returns the ledger row.
CREATE FUNCTION keel_transition_directive(
  directive uuid,
  to_status text,
  actor text,
  reason text,
  expected_version integer DEFAULT NULL,
  expected_status text DEFAULT NULL
) RETURNS directive_transitions
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  locked directives;
  appended directive_transitions;
BEGIN
  SELECT * INTO locked FROM directives d WHERE d.id = directive FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'transition: no directive has id "%"', directive
      USING ERRCODE = 'no_data_found';
  END IF;
  IF expected_version IS NOT NULL AND locked.version <> expected_version THEN
    RAISE EXCEPTION 'transition: directive % is at version %, expected %',
      directive, locked.version, expected_version USING ERRCODE = 'serialization_failure';
  END IF;
  IF expected_status IS NOT NULL AND locked.status <> expected_status THEN
    RAISE EXCEPTION 'transition: directive % is %, expected %',
      directive, locked.status, expected_status USING ERRCODE = 'serialization_failure';
  END IF;
  IF to_status IS NULL OR NOT keel_directive_transition_allowed(locked.status, to_status) THEN
    RAISE EXCEPTION 'illegal directive transition % -> % (directive %)',
      locked.status, to_status, directive USING ERRCODE = 'check_violation';
  END IF;
  UPDATE directives d
     SET status = to_status, version = d.version + 1, updated_at = greatest(now(), d.updated_at)
   WHERE d.id = directive;
  INSERT INTO directive_transitions (directive_id, from_status, to_status, actor, reason)
  VALUES (directive, locked.status, to_status, actor, reason)
  RETURNING * INTO appended;
  RETURN appended;
END
$$;
REVOKE ALL ON FUNCTION keel_transition_directive(uuid, text, text, text, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION keel_transition_directive(uuid, text, text, text, integer, text)
  TO keel_app;

-- keel_app writes no ledger row and no status. It keeps UPDATE of updated_at
-- alone, which Postgres requires for SELECT ... FOR UPDATE row locks; the
-- guard trigger refuses any UPDATE that does not advance version, a column
-- keel_app may not write, so that grant changes nothing on its own.
REVOKE INSERT ON directive_transitions FROM keel_app;
REVOKE UPDATE ON directives FROM keel_app;
GRANT UPDATE (updated_at) ON directives TO keel_app;

-- Governance records are append-only for every role.
CREATE FUNCTION keel_refuse_append_only_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER approvals_append_only
  BEFORE UPDATE OR DELETE ON approvals
  FOR EACH ROW EXECUTE FUNCTION keel_refuse_append_only_change();
CREATE TRIGGER approvals_no_truncate
  BEFORE TRUNCATE ON approvals
  FOR EACH STATEMENT EXECUTE FUNCTION keel_refuse_append_only_change();
CREATE TRIGGER policy_evaluations_append_only
  BEFORE UPDATE OR DELETE ON policy_evaluations
  FOR EACH ROW EXECUTE FUNCTION keel_refuse_append_only_change();
CREATE TRIGGER policy_evaluations_no_truncate
  BEFORE TRUNCATE ON policy_evaluations
  FOR EACH STATEMENT EXECUTE FUNCTION keel_refuse_append_only_change();
CREATE TRIGGER evaluations_append_only
  BEFORE UPDATE OR DELETE ON evaluations
  FOR EACH ROW EXECUTE FUNCTION keel_refuse_append_only_change();
CREATE TRIGGER evaluations_no_truncate
  BEFORE TRUNCATE ON evaluations
  FOR EACH STATEMENT EXECUTE FUNCTION keel_refuse_append_only_change();
REVOKE UPDATE, DELETE, TRUNCATE ON approvals, policy_evaluations, evaluations FROM keel_app;

-- Budget history. A budget_ledger row moves only forward: reserved -> charged
-- or released, and released -> reserved when a retried call reserves again
-- under its key. A charged row is final (0004). Every state a row takes is
-- also appended to budget_ledger_events, which no role may change or delete.
CREATE TABLE budget_ledger_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  budget_ledger_id uuid NOT NULL REFERENCES budget_ledger (id),
  -- Copied from the budget row (which references the directive); no foreign
  -- key of its own, so recording an event takes no lock on the directive row.
  directive_id uuid NOT NULL,
  idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 500),
  status text NOT NULL CHECK (status IN ('reserved', 'charged', 'released')),
  amount numeric(18, 4) NOT NULL CHECK (amount >= 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  attempts integer NOT NULL CHECK (attempts >= 1),
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX budget_ledger_events_directive_idx ON budget_ledger_events (directive_id, id);

CREATE TRIGGER budget_ledger_events_append_only
  BEFORE UPDATE OR DELETE ON budget_ledger_events
  FOR EACH ROW EXECUTE FUNCTION keel_refuse_append_only_change();
CREATE TRIGGER budget_ledger_events_no_truncate
  BEFORE TRUNCATE ON budget_ledger_events
  FOR EACH STATEMENT EXECUTE FUNCTION keel_refuse_append_only_change();

CREATE FUNCTION keel_record_budget_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO budget_ledger_events
    (budget_ledger_id, directive_id, idempotency_key, status, amount, currency, attempts)
  VALUES (NEW.id, NEW.directive_id, NEW.idempotency_key, NEW.status, NEW.amount, NEW.currency,
    NEW.attempts);
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION keel_record_budget_event() FROM PUBLIC;

CREATE TRIGGER budget_ledger_history
  AFTER INSERT OR UPDATE ON budget_ledger
  FOR EACH ROW EXECUTE FUNCTION keel_record_budget_event();

-- Existing rows start their trail with the state they are in now.
INSERT INTO budget_ledger_events
  (budget_ledger_id, directive_id, idempotency_key, status, amount, currency, attempts, at)
SELECT id, directive_id, idempotency_key, status, amount, currency, attempts, updated_at
  FROM budget_ledger ORDER BY created_at, id;

-- The guard of 0004, with the forward-only moves spelled out.
CREATE OR REPLACE FUNCTION keel_guard_budget_ledger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'budget_ledger keeps every charge: % is refused', TG_OP
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.status = 'charged' THEN
    RAISE EXCEPTION 'budget_ledger row % is charged and final: UPDATE is refused', OLD.idempotency_key
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.directive_id <> OLD.directive_id OR NEW.idempotency_key <> OLD.idempotency_key
    OR NEW.currency <> OLD.currency OR NEW.created_at <> OLD.created_at
    OR NEW.provider <> OLD.provider THEN
    RAISE EXCEPTION 'budget_ledger row %: directive, key, provider, currency and creation time are frozen',
      OLD.idempotency_key
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.attempts < OLD.attempts THEN
    RAISE EXCEPTION 'budget_ledger row %: attempts cannot go back from % to %',
      OLD.idempotency_key, OLD.attempts, NEW.attempts USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- A reservation again (a retried call) must count the attempt.
  IF NEW.status = 'reserved' AND NEW.attempts <> OLD.attempts + 1 THEN
    RAISE EXCEPTION 'budget_ledger row %: a new reservation must count its attempt (% -> %)',
      OLD.idempotency_key, OLD.attempts, NEW.attempts USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.status = 'released' AND NEW.status <> 'reserved' THEN
    RAISE EXCEPTION 'budget_ledger row % is released: only a new reservation may follow, not %',
      OLD.idempotency_key, NEW.status USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;

GRANT SELECT ON budget_ledger_events TO keel_app;
