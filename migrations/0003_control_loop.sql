-- The control loop's exactly-once effects: an automatic evaluation is stored
-- once per run and evaluator, however often its activity is retried.
CREATE UNIQUE INDEX evaluations_once_per_run ON evaluations (run_id, evaluator)
  WHERE run_id IS NOT NULL;

-- How long the module itself ran (the run's timestamps include the loop's overhead).
ALTER TABLE execution_runs
  ADD COLUMN duration_ms integer CHECK (duration_ms >= 0);
