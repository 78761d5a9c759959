import type { z } from "zod";
import { DirectiveRow, NewDirectiveRow, NewTransitionRow, TransitionRow } from "./directive_row.ts";
import {
  ApprovalRow,
  DecisionNonceRow,
  NewApprovalRow,
  NewDecisionNonceRow,
  NewPolicyEvaluationRow,
  PolicyEvaluationRow,
} from "./governance_rows.ts";
import {
  ArtifactRow,
  ExecutionRunRow,
  NewArtifactRow,
  NewExecutionRunRow,
} from "./execution_rows.ts";
import {
  EvaluationRow,
  MemoryEmbeddingRow,
  NewEvaluationRow,
  NewMemoryEmbeddingRow,
} from "./observation_rows.ts";
import {
  BudgetLedgerEventRow,
  BudgetLedgerRow,
  NewBudgetLedgerEventRow,
  NewBudgetLedgerRow,
} from "./budget_rows.ts";
import { NewRetentionTombstoneRow, RetentionTombstoneRow } from "./retention_rows.ts";
import {
  NewWebhookAttemptRow,
  NewWebhookDeliveryRow,
  NewWebhookEventRow,
  NewWebhookSubscriptionRow,
  WebhookAttemptRow,
  WebhookDeliveryRow,
  WebhookEventRow,
  WebhookSubscriptionRow,
} from "./webhook_rows.ts";
import { NewWorkingMemoryRow, WorkingMemoryRow } from "./working_memory_rows.ts";

/** A table's row schema and create-input schema. */
export interface TableModel {
  /** The row as selected. */
  readonly row: z.ZodObject;
  /** What an insert takes. */
  readonly insert: z.ZodObject;
}

/**
 * Every application table and its models. validate compares each row schema
 * with the migrated catalog, column by column.
 */
export const TABLES: Readonly<Record<string, TableModel>> = {
  directives: { row: DirectiveRow, insert: NewDirectiveRow },
  directive_transitions: { row: TransitionRow, insert: NewTransitionRow },
  policy_evaluations: { row: PolicyEvaluationRow, insert: NewPolicyEvaluationRow },
  approvals: { row: ApprovalRow, insert: NewApprovalRow },
  decision_nonces: { row: DecisionNonceRow, insert: NewDecisionNonceRow },
  execution_runs: { row: ExecutionRunRow, insert: NewExecutionRunRow },
  artifacts: { row: ArtifactRow, insert: NewArtifactRow },
  evaluations: { row: EvaluationRow, insert: NewEvaluationRow },
  memory_embeddings: { row: MemoryEmbeddingRow, insert: NewMemoryEmbeddingRow },
  budget_ledger: { row: BudgetLedgerRow, insert: NewBudgetLedgerRow },
  budget_ledger_events: { row: BudgetLedgerEventRow, insert: NewBudgetLedgerEventRow },
  retention_tombstones: { row: RetentionTombstoneRow, insert: NewRetentionTombstoneRow },
  webhook_subscriptions: { row: WebhookSubscriptionRow, insert: NewWebhookSubscriptionRow },
  webhook_events: { row: WebhookEventRow, insert: NewWebhookEventRow },
  webhook_deliveries: { row: WebhookDeliveryRow, insert: NewWebhookDeliveryRow },
  webhook_attempts: { row: WebhookAttemptRow, insert: NewWebhookAttemptRow },
  working_memory: { row: WorkingMemoryRow, insert: NewWorkingMemoryRow },
};
