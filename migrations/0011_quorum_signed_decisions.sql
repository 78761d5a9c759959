-- Separation of duties, quorum approvals and signed decisions.
--
-- A directive may need several approvers: `approvals` holds one row per
-- principal (never two from the same one), and the verdict records how many
-- are needed and whether the submitter is kept out. Every human decision
-- carries a single-use nonce; a nonce seen once is refused forever.

ALTER TABLE approvals DROP CONSTRAINT approvals_directive_id_key;
ALTER TABLE approvals ADD CONSTRAINT approvals_directive_actor_key UNIQUE (directive_id, actor);

-- Rows from before this migration were decided by one approver, with no
-- separation of duties.
ALTER TABLE policy_evaluations
  ADD COLUMN approvals_required integer NOT NULL DEFAULT 1
    CHECK (approvals_required BETWEEN 1 AND 10),
  ADD COLUMN separate_submitter boolean NOT NULL DEFAULT false;

CREATE TABLE decision_nonces (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  nonce text NOT NULL UNIQUE CHECK (nonce ~ '^[A-Za-z0-9_-]{16,100}$'),
  directive_id uuid NOT NULL REFERENCES directives (id),
  action text NOT NULL CHECK (action IN ('approve', 'reject', 'abort')),
  actor text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 200),
  used_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX decision_nonces_directive_idx ON decision_nonces (directive_id);

GRANT SELECT, INSERT ON decision_nonces TO keel_app;
