-- Every verdict names the policy that decided it by content: the SHA-256 (64
-- lowercase hex characters) of the canonical JSON of the parsed policy config
-- (src/policy/hash.ts). Rows stored before this migration keep NULL.

ALTER TABLE policy_evaluations ADD COLUMN policy_sha256 text
  CONSTRAINT policy_evaluations_policy_sha256_check CHECK (policy_sha256 ~ '^[0-9a-f]{64}$');
