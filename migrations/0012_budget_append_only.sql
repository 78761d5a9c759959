-- The budget ledger becomes strictly append-only. A key's row is no longer
-- moved forward in place: every state it takes (a reservation, a charge, a
-- release, a reservation again) is a new row numbered by `version` within
-- the key, and its current state is its highest version. No role may UPDATE,
-- DELETE or TRUNCATE a budget row; an appended row must follow the key's
-- latest one by a legal move.
--
-- Rows from before this migration keep their id and content as version 1 of
-- their key (a key was one row). The states they took before are kept in
-- budget_ledger_events, which goes on recording every appended row.

DROP TRIGGER budget_ledger_guard ON budget_ledger;
DROP TRIGGER budget_ledger_no_truncate ON budget_ledger;
DROP TRIGGER budget_ledger_history ON budget_ledger;
DROP FUNCTION keel_guard_budget_ledger();

ALTER TABLE budget_ledger ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE budget_ledger ALTER COLUMN version DROP DEFAULT;
ALTER TABLE budget_ledger DROP CONSTRAINT budget_ledger_idempotency_key_key;
ALTER TABLE budget_ledger
  ADD CONSTRAINT budget_ledger_key_version UNIQUE (idempotency_key, version);
-- A row is never changed, so it has no update time: a row's created_at is
-- when its state was recorded (the trail's `at` keeps the times of the
-- states older rows took in place).
ALTER TABLE budget_ledger DROP COLUMN updated_at;
-- A settlement is now an INSERT. With the foreign key to directives it would
-- take a key-share lock on the directive row, so a run's ending would wait
-- behind any directive transition; the append guard checks instead that a
-- key's first row names an existing directive (directives are never
-- deleted) and that every later row names the same one.
ALTER TABLE budget_ledger DROP CONSTRAINT budget_ledger_directive_id_fkey;
DROP INDEX budget_ledger_directive_idx;
CREATE INDEX budget_ledger_directive_idx ON budget_ledger (directive_id, idempotency_key, version);

-- What may be appended: a key starts with a reservation at attempt 1; then
-- reserved -> charged | released | reserved (a retried call, counting its
-- attempt); released -> reserved (counting its attempt); charged is final.
-- A key's first row names an existing directive; the directive, provider and
-- currency never change within a key, nor the model of a settlement. A row whose version already exists is let through
-- to the unique constraint, so an INSERT ... ON CONFLICT DO NOTHING retry
-- appends nothing.
CREATE FUNCTION keel_guard_budget_append() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  prev budget_ledger;
BEGIN
  IF NEW.version = 1 THEN
    IF NEW.status <> 'reserved' OR NEW.attempts <> 1 THEN
      RAISE EXCEPTION 'budget_ledger key % must start with a reservation at attempt 1, not % at attempt %',
        NEW.idempotency_key, NEW.status, NEW.attempts USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM directives d WHERE d.id = NEW.directive_id) THEN
      RAISE EXCEPTION 'budget_ledger key %: no directive has id "%"',
        NEW.idempotency_key, NEW.directive_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
  END IF;
  SELECT * INTO prev FROM budget_ledger b
   WHERE b.idempotency_key = NEW.idempotency_key AND b.version = NEW.version - 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'budget_ledger key % has no version % for version % to follow',
      NEW.idempotency_key, NEW.version - 1, NEW.version USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF (NEW.directive_id, NEW.provider, NEW.currency) IS DISTINCT FROM
     (prev.directive_id, prev.provider, prev.currency) THEN
    RAISE EXCEPTION 'budget_ledger key %: directive, provider and currency are frozen',
      NEW.idempotency_key USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF prev.status = 'charged' THEN
    RAISE EXCEPTION 'budget_ledger key % is charged and final: no % row may follow it',
      NEW.idempotency_key, NEW.status USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF prev.status = 'released' AND NEW.status <> 'reserved' THEN
    RAISE EXCEPTION 'budget_ledger key % is released: only a new reservation may follow, not %',
      NEW.idempotency_key, NEW.status USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.status = 'reserved' AND NEW.attempts <> prev.attempts + 1 THEN
    RAISE EXCEPTION 'budget_ledger key %: a new reservation must count its attempt (% -> %)',
      NEW.idempotency_key, prev.attempts, NEW.attempts USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.status <> 'reserved' AND (NEW.attempts <> prev.attempts OR NEW.model <> prev.model) THEN
    RAISE EXCEPTION 'budget_ledger key %: a settlement keeps its reservation''s attempt and model',
      NEW.idempotency_key USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER budget_ledger_append
  BEFORE INSERT ON budget_ledger
  FOR EACH ROW EXECUTE FUNCTION keel_guard_budget_append();
CREATE TRIGGER budget_ledger_append_only
  BEFORE UPDATE OR DELETE ON budget_ledger
  FOR EACH ROW EXECUTE FUNCTION keel_refuse_append_only_change();
CREATE TRIGGER budget_ledger_no_truncate
  BEFORE TRUNCATE ON budget_ledger
  FOR EACH STATEMENT EXECUTE FUNCTION keel_refuse_append_only_change();
-- The trail (0009) records every appended row; there are no updates to record.
CREATE TRIGGER budget_ledger_history
  AFTER INSERT ON budget_ledger
  FOR EACH ROW EXECUTE FUNCTION keel_record_budget_event();

-- The audit compares each row with its trail.
CREATE INDEX budget_ledger_events_row_idx ON budget_ledger_events (budget_ledger_id, id);

REVOKE UPDATE, DELETE, TRUNCATE ON budget_ledger FROM keel_app;
