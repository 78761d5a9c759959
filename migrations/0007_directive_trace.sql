-- The trace a directive was submitted in, so an operator can go from a
-- directive (the dashboard, `keel status`) to its trace. Written once at
-- submit, never changed, never read by business code.
ALTER TABLE directives
  ADD COLUMN trace_id text CHECK (trace_id ~ '^[0-9a-f]{32}$');

CREATE FUNCTION keel_freeze_directive_trace() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.trace_id IS DISTINCT FROM OLD.trace_id THEN
    RAISE EXCEPTION 'directive % is frozen intent: its trace_id cannot change', OLD.id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER directives_trace_frozen
  BEFORE UPDATE ON directives
  FOR EACH ROW EXECUTE FUNCTION keel_freeze_directive_trace();
