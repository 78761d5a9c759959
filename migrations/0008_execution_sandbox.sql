-- The execution sandbox: runs can be `lost` (the worker died while the module
-- ran, so whether it acted is unknown); the policy records the permission set
-- granted to a directive's runs; modules reserve budget in the same ledger as
-- model calls.

ALTER TABLE execution_runs DROP CONSTRAINT execution_runs_status_check;
ALTER TABLE execution_runs ADD CONSTRAINT execution_runs_status_check
  CHECK (status IN ('pending', 'running', 'completed', 'failed', 'canceled', 'lost'));
ALTER TABLE execution_runs DROP CONSTRAINT execution_runs_check;
ALTER TABLE execution_runs ADD CONSTRAINT execution_runs_check
  CHECK ((status IN ('completed', 'failed', 'canceled', 'lost')) = (finished_at IS NOT NULL));

-- A run's status moves only forward: pending → running → an ending, or
-- pending → an ending (refused before it started); an ending is final.
CREATE FUNCTION keel_guard_run_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = OLD.status THEN
    IF OLD.status IN ('completed', 'failed', 'canceled', 'lost')
      AND (NEW.outcome IS DISTINCT FROM OLD.outcome OR NEW.message IS DISTINCT FROM OLD.message
        OR NEW.finished_at IS DISTINCT FROM OLD.finished_at) THEN
      RAISE EXCEPTION 'execution run % has ended (%): its ending is final', OLD.id, OLD.status
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  IF (OLD.status = 'pending' AND NEW.status IN ('running', 'failed', 'canceled'))
    OR (OLD.status = 'running' AND NEW.status IN ('completed', 'failed', 'canceled', 'lost')) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'execution run %: % → % is not a legal move', OLD.id, OLD.status, NEW.status
    USING ERRCODE = 'check_violation';
END
$$;

CREATE TRIGGER execution_runs_status_guard
  BEFORE UPDATE OF status, outcome, message, finished_at ON execution_runs
  FOR EACH ROW EXECUTE FUNCTION keel_guard_run_status();

ALTER TABLE policy_evaluations ADD COLUMN granted_permissions jsonb;
