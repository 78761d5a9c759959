-- The directive lifecycle, enforced by the database as well as by the code:
-- legal transitions only, frozen content, and a tamper-evident ledger.

-- The same table as TRANSITIONS in src/directives/lifecycle.ts; a test compares them.
CREATE FUNCTION keel_directive_transition_allowed(from_status text, to_status text)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT (from_status, to_status) IN (
    ('draft', 'proposed'), ('draft', 'aborted'),
    ('proposed', 'approved'), ('proposed', 'blocked'), ('proposed', 'aborted'),
    ('approved', 'executing'), ('approved', 'aborted'),
    ('executing', 'complete'), ('executing', 'aborted')
  )
$$;

CREATE FUNCTION keel_guard_directive() RETURNS trigger
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
  IF (NEW.id, NEW.type, NEW.issued_by, NEW.objective, NEW.scope, NEW.constraints,
      NEW.success_metrics, NEW.budget_amount, NEW.budget_currency, NEW.timebox_seconds,
      NEW.payload, NEW.idempotency_key, NEW.created_at)
     IS DISTINCT FROM
     (OLD.id, OLD.type, OLD.issued_by, OLD.objective, OLD.scope, OLD.constraints,
      OLD.success_metrics, OLD.budget_amount, OLD.budget_currency, OLD.timebox_seconds,
      OLD.payload, OLD.idempotency_key, OLD.created_at) THEN
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

CREATE TRIGGER directives_guard
  BEFORE INSERT OR UPDATE OR DELETE ON directives
  FOR EACH ROW EXECUTE FUNCTION keel_guard_directive();

CREATE FUNCTION keel_refuse_directive_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'directives are never deleted: TRUNCATE is refused'
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER directives_no_truncate
  BEFORE TRUNCATE ON directives
  FOR EACH STATEMENT EXECUTE FUNCTION keel_refuse_directive_truncate();

-- The hash chain: each ledger row carries the sha256 of its content and of the
-- previous row of the same directive. The content is each field as
-- "<UTF-8 byte length>:<value>;" (NULL as "~;"), in this order: directive id,
-- from, to, actor, reason, time (ISO 8601 UTC, milliseconds), previous hash.
-- src/directives/ledger.ts computes the same string; the audit recomputes it.
ALTER TABLE directive_transitions
  ADD COLUMN prev_hash char(64) NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  ADD COLUMN hash char(64) NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
  -- One successor per row: the chain of a directive can never fork.
  ADD CONSTRAINT directive_transitions_linear UNIQUE (directive_id, prev_hash);

CREATE FUNCTION keel_ledger_field(value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(octet_length(value)::text || ':' || value || ';', '~;')
$$;

CREATE FUNCTION keel_chain_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.at := date_trunc('milliseconds', NEW.at);
  SELECT t.hash INTO NEW.prev_hash
    FROM directive_transitions t
   WHERE t.directive_id = NEW.directive_id
   ORDER BY t.id DESC
   LIMIT 1;
  NEW.prev_hash := coalesce(NEW.prev_hash, repeat('0', 64));
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

CREATE TRIGGER directive_transitions_chain
  BEFORE INSERT ON directive_transitions
  FOR EACH ROW EXECUTE FUNCTION keel_chain_transition();

-- Which policy rule decided: "ok" on ALLOW, the failing rule on BLOCK.
ALTER TABLE policy_evaluations
  ADD COLUMN rule text NOT NULL CHECK (rule ~ '^[a-z][a-z0-9_]{0,62}$'),
  ADD CONSTRAINT policy_evaluations_rule_matches_verdict CHECK ((verdict = 'ALLOW') = (rule = 'ok'));
