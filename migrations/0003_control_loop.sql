-- The control loop's exactly-once effects: an automatic evaluation is stored
-- once per run and evaluator, however often its activity is retried.
CREATE UNIQUE INDEX evaluations_once_per_run ON evaluations (run_id, evaluator)
  WHERE run_id IS NOT NULL;
