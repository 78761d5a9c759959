-- The budget ledger: every model-provider call's cost, charged against its
-- directive once per activity idempotency key however often the activity is
-- retried. A call first reserves its worst-case cost (refused when that would
-- exceed the directive's budget), then is charged its actual cost or released.
CREATE TABLE budget_ledger (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  directive_id uuid NOT NULL REFERENCES directives (id),
  idempotency_key text NOT NULL UNIQUE CHECK (char_length(idempotency_key) BETWEEN 1 AND 500),
  provider text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_]{0,62}$'),
  model text NOT NULL CHECK (char_length(model) BETWEEN 1 AND 200),
  status text NOT NULL DEFAULT 'reserved' CHECK (status IN ('reserved', 'charged', 'released')),
  amount numeric(18, 4) NOT NULL CHECK (amount >= 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  input_tokens integer CHECK (input_tokens >= 0),
  output_tokens integer CHECK (output_tokens >= 0),
  attempts integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
  -- The normalized answer of a charged call, so a retried activity gets it back
  -- without paying for a second call.
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (status <> 'released' OR amount = 0),
  CHECK (updated_at >= created_at)
);
CREATE INDEX budget_ledger_directive_idx ON budget_ledger (directive_id, status);

-- A charge is final, and a row never moves to another directive, key or currency.
CREATE FUNCTION keel_guard_budget_ledger() RETURNS trigger
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
    OR NEW.currency <> OLD.currency OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'budget_ledger row %: directive, key, currency and creation time are frozen',
      OLD.idempotency_key
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER budget_ledger_guard
  BEFORE UPDATE OR DELETE ON budget_ledger
  FOR EACH ROW EXECUTE FUNCTION keel_guard_budget_ledger();

CREATE TRIGGER budget_ledger_no_truncate
  BEFORE TRUNCATE ON budget_ledger
  FOR EACH STATEMENT EXECUTE FUNCTION keel_guard_budget_ledger();

GRANT SELECT, INSERT, UPDATE ON budget_ledger TO keel_app;
