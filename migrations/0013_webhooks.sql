-- Notifications: webhook subscriptions, the events Keel emits for them, and
-- a delivery log. An event is written by a trigger in the same transaction
-- as the row it reports (an outbox), only when an active subscription wants
-- its type, with one delivery per subscription. The worker's notifier
-- delivers them afterwards: nothing here waits for a receiver, and no
-- delivery can change a directive.

CREATE TABLE webhook_subscriptions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_.:@-]{1,100}$'),
  url text NOT NULL CHECK (url ~ '^https?://[^\s]+$' AND char_length(url) <= 2000),
  -- Standard Webhooks secret: whsec_ and base64 of 24 to 64 random bytes.
  secret text NOT NULL CHECK (secret ~ '^whsec_[A-Za-z0-9+/=]{32,100}$'),
  events text[] NOT NULL CHECK (
    cardinality(events) >= 1
    AND events <@ ARRAY['approval_requested', 'directive_ended', 'budget_refused', 'run_failed']
  ),
  format text NOT NULL DEFAULT 'standard' CHECK (format IN ('standard', 'slack')),
  created_by text NOT NULL CHECK (char_length(created_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz
);

CREATE TABLE webhook_events (
  -- Deterministic from the row it reports: the same fact is one event.
  id text PRIMARY KEY CHECK (id ~ '^evt_[a-z_]+_[A-Za-z0-9-]{1,80}$'),
  type text NOT NULL
    CHECK (type IN ('approval_requested', 'directive_ended', 'budget_refused', 'run_failed')),
  directive_id uuid NOT NULL REFERENCES directives (id),
  data jsonb NOT NULL,
  occurred_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_events_directive_idx ON webhook_events (directive_id, occurred_at);

CREATE TABLE webhook_deliveries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  event_id text NOT NULL REFERENCES webhook_events (id),
  subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  UNIQUE (event_id, subscription_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
  WHERE status = 'pending';

CREATE TABLE webhook_attempts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id),
  attempt integer NOT NULL CHECK (attempt >= 1),
  status_code integer CHECK (status_code BETWEEN 100 AND 599),
  error text CHECK (char_length(error) <= 500),
  latency_ms integer NOT NULL CHECK (latency_ms >= 0),
  attempted_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (delivery_id, attempt)
);

-- Records an event and its deliveries when some active subscription wants it.
CREATE FUNCTION keel_emit_webhook_event(event_id text, event_type text, directive uuid)
  RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  d directives%ROWTYPE;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhook_subscriptions
                  WHERE disabled_at IS NULL AND event_type = ANY (events)) THEN
    RETURN;
  END IF;
  SELECT * INTO d FROM directives WHERE id = directive;
  INSERT INTO webhook_events (id, type, directive_id, data)
  VALUES (event_id, event_type, directive, jsonb_build_object(
    'directive_id', d.id, 'type', d.type, 'objective', d.objective, 'status', d.status,
    'issued_by', d.issued_by, 'submitted_by', d.submitted_by,
    'budget', jsonb_build_object('amount', d.budget_amount::text, 'currency', d.budget_currency)))
  ON CONFLICT (id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  INSERT INTO webhook_deliveries (event_id, subscription_id)
  SELECT event_id, s.id FROM webhook_subscriptions s
   WHERE s.disabled_at IS NULL AND event_type = ANY (s.events)
  ON CONFLICT DO NOTHING;
END $$;

CREATE FUNCTION keel_webhook_on_transition() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  IF NEW.to_status IN ('complete', 'blocked', 'aborted') THEN
    PERFORM keel_emit_webhook_event('evt_directive_ended_' || NEW.id, 'directive_ended',
                                    NEW.directive_id);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER webhook_on_transition AFTER INSERT ON directive_transitions
  FOR EACH ROW EXECUTE FUNCTION keel_webhook_on_transition();

CREATE FUNCTION keel_webhook_on_verdict() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  IF NEW.verdict = 'ALLOW' AND NOT NEW.auto_approve THEN
    PERFORM keel_emit_webhook_event('evt_approval_requested_' || NEW.id, 'approval_requested',
                                    NEW.directive_id);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER webhook_on_verdict AFTER INSERT ON policy_evaluations
  FOR EACH ROW EXECUTE FUNCTION keel_webhook_on_verdict();

-- A run refused by the budget ends failed with a message that starts
-- "refused, nothing started:" (src/execution/execute.ts REFUSED).
CREATE FUNCTION keel_webhook_on_run() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  IF NEW.status = 'failed' AND OLD.status IS DISTINCT FROM 'failed' THEN
    IF NEW.message LIKE 'refused, nothing started:%' THEN
      PERFORM keel_emit_webhook_event('evt_budget_refused_' || NEW.id, 'budget_refused',
                                      NEW.directive_id);
    ELSE
      PERFORM keel_emit_webhook_event('evt_run_failed_' || NEW.id, 'run_failed',
                                      NEW.directive_id);
    END IF;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER webhook_on_run AFTER UPDATE OF status ON execution_runs
  FOR EACH ROW EXECUTE FUNCTION keel_webhook_on_run();

REVOKE ALL ON FUNCTION keel_emit_webhook_event(text, text, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION keel_webhook_on_transition() FROM PUBLIC;
REVOKE ALL ON FUNCTION keel_webhook_on_verdict() FROM PUBLIC;
REVOKE ALL ON FUNCTION keel_webhook_on_run() FROM PUBLIC;

-- The app role manages subscriptions and records deliveries; events are
-- written only by the triggers, and the attempt log is append-only.
GRANT SELECT, INSERT ON webhook_subscriptions TO keel_app;
GRANT UPDATE (disabled_at) ON webhook_subscriptions TO keel_app;
GRANT SELECT ON webhook_events TO keel_app;
GRANT SELECT ON webhook_deliveries TO keel_app;
GRANT UPDATE (status, attempts, next_attempt_at, delivered_at) ON webhook_deliveries TO keel_app;
GRANT SELECT, INSERT ON webhook_attempts TO keel_app;
