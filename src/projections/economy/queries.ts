import type { EpochRecord, Allocation, AllocationRole } from "../../domain/economy/epochRecord.js";
import type { PaymentIntent } from "../../domain/economy/intent.js";
import type { PaymentProvider } from "../../domain/economy/intentEvents.js";
import type { CustodianSignature, CustodyPolicy } from "../../domain/economy/custody.js";
import type { PolicyLine } from "../../domain/economy/policy.js";
import type { ResourceClass } from "../../domain/economy/units.js";
import { microsOf, pageOf, timeOfMicros, type CursorKey, type Db, type Page } from "../keyset.js";

/**
 * The reads of the economy projection (tables economy_*), each answering typed objects. Like
 * every projection it lags the stream by a moment: a use case that must decide sends a command,
 * whose decider reads the stream itself.
 */

// ---- prices ----

export interface PriceProposal {
  readonly eventId: string;
  readonly coordinatorId: string;
  readonly resourceClass: ResourceClass;
  readonly satsPerUnit: number;
  readonly queued: number;
  readonly agents: number;
  readonly capacity: number;
  readonly proposedAt: Date;
  readonly seq: number;
}

interface PriceProposalRow {
  event_id: string;
  coordinator_id: string;
  resource_class: ResourceClass;
  sats_per_unit: number;
  queued: number;
  agents: number;
  capacity: number;
  proposed_at: Date;
  seq: number;
}
const PROPOSAL_COLUMNS = "event_id, coordinator_id, resource_class, sats_per_unit, queued, agents, capacity, proposed_at, seq";
const priceProposal = (r: PriceProposalRow): PriceProposal => ({
  eventId: r.event_id,
  coordinatorId: r.coordinator_id,
  resourceClass: r.resource_class,
  satsPerUnit: r.sats_per_unit,
  queued: r.queued,
  agents: r.agents,
  capacity: r.capacity,
  proposedAt: r.proposed_at,
  seq: r.seq,
});

/** Each coordinator's latest proposal per class made at or after `since` (older ones are stale, whoever made them). */
export async function latestProposalsSince(db: Db, since: Date): Promise<PriceProposal[]> {
  const { rows } = await db.query<PriceProposalRow>(
    `SELECT ${PROPOSAL_COLUMNS} FROM economy_price_latest WHERE proposed_at >= $1 ORDER BY resource_class, coordinator_id`,
    [since],
  );
  return rows.map(priceProposal);
}

/** One coordinator's latest proposal per class, however old. */
export async function latestProposalsOf(db: Db, coordinatorId: string): Promise<PriceProposal[]> {
  const { rows } = await db.query<PriceProposalRow>(`SELECT ${PROPOSAL_COLUMNS} FROM economy_price_latest WHERE coordinator_id = $1 ORDER BY resource_class`, [coordinatorId]);
  return rows.map(priceProposal);
}

/** Every proposal, newest first by (time, event id), of one class or coordinator if given. */
export async function proposalHistory(
  db: Db,
  opts: { resourceClass?: ResourceClass | undefined; coordinatorId?: string | undefined; before?: CursorKey | undefined; limit: number },
): Promise<Page<PriceProposal>> {
  const { rows } = await db.query<PriceProposalRow & { cursor_at: string }>(
    `SELECT ${PROPOSAL_COLUMNS}, ${microsOf("proposed_at")} AS cursor_at FROM economy_price_proposals
      WHERE ($1::text IS NULL OR resource_class = $1) AND ($2::text IS NULL OR coordinator_id = $2)
        AND ($3::bigint IS NULL OR (proposed_at, event_id) < (${timeOfMicros("$3")}, $4::uuid))
      ORDER BY proposed_at DESC, event_id DESC LIMIT $5`,
    [opts.resourceClass ?? null, opts.coordinatorId ?? null, opts.before?.[0] ?? null, opts.before?.[1] ?? null, opts.limit + 1],
  );
  return pageOf(rows, opts.limit, (r) => [r.cursor_at, r.event_id], priceProposal);
}

/** The counts of every proposal made in [start, end): what an issuance epoch's load is read from. */
export async function proposalCountsBetween(db: Db, start: Date, end: Date): Promise<Pick<PriceProposal, "resourceClass" | "queued" | "agents" | "capacity">[]> {
  const { rows } = await db.query<Pick<PriceProposalRow, "resource_class" | "queued" | "agents" | "capacity">>(
    "SELECT resource_class, queued, agents, capacity FROM economy_price_proposals WHERE proposed_at >= $1 AND proposed_at < $2",
    [start, end],
  );
  return rows.map((r) => ({ resourceClass: r.resource_class, queued: r.queued, agents: r.agents, capacity: r.capacity }));
}

// ---- issuance epochs ----

export interface EpochSummary {
  readonly epochId: string;
  readonly status: "open" | "final";
  readonly voteCount: number;
  readonly recordCount: number;
  readonly finalRecordHash: string | null;
  readonly finalSigners: readonly string[] | null;
  readonly issuedMillicredits: number | null;
  readonly loadIndexMicros: number | null;
  /** When its last event was recorded: for a final epoch, when it became final. */
  readonly updatedAt: Date;
  readonly version: number;
}

interface EpochRow {
  epoch_id: string;
  status: "open" | "final";
  vote_count: number;
  record_count: number;
  final_record_hash: string | null;
  final_signers: string[] | null;
  issued_millicredits: number | null;
  load_index_micros: number | null;
  updated_at: Date;
  last_seq: number;
}
const EPOCH_COLUMNS = "epoch_id, status, vote_count, record_count, final_record_hash, final_signers, issued_millicredits, load_index_micros, updated_at, last_seq";
const epochSummary = (r: EpochRow): EpochSummary => ({
  epochId: r.epoch_id,
  status: r.status,
  voteCount: r.vote_count,
  recordCount: r.record_count,
  finalRecordHash: r.final_record_hash,
  finalSigners: r.final_signers,
  issuedMillicredits: r.issued_millicredits,
  loadIndexMicros: r.load_index_micros,
  updatedAt: r.updated_at,
  version: r.last_seq,
});

export async function epochById(db: Db, epochId: string): Promise<EpochSummary | undefined> {
  const row = (await db.query<EpochRow>(`SELECT ${EPOCH_COLUMNS} FROM economy_epochs WHERE epoch_id = $1`, [epochId])).rows[0];
  return row && epochSummary(row);
}

/** A record voted for and who voted for it. */
export interface TalliedRecord {
  readonly recordHash: string;
  readonly record: EpochRecord;
  readonly signers: readonly string[];
  readonly firstVotedAt: Date;
}

/**
 * Each distinct record voted for in the epoch and its signers, most signers first (then by
 * hash): disagreement stays visible, every differing record with those who signed it.
 */
export async function epochTally(db: Db, epochId: string): Promise<TalliedRecord[]> {
  const { rows } = await db.query<{ record_hash: string; record: EpochRecord; first_voted_at: Date; signers: string[] }>(
    `SELECT r.record_hash, r.record, r.first_voted_at,
            ARRAY(SELECT v.coordinator_id FROM economy_epoch_votes v WHERE v.epoch_id = r.epoch_id AND v.record_hash = r.record_hash ORDER BY v.coordinator_id) AS signers
       FROM economy_epoch_records r WHERE r.epoch_id = $1`,
    [epochId],
  );
  return rows
    .map((r) => ({ recordHash: r.record_hash, record: r.record, signers: r.signers, firstVotedAt: r.first_voted_at }))
    .sort((a, b) => b.signers.length - a.signers.length || (a.recordHash < b.recordHash ? -1 : 1));
}

/** A coordinator's vote on an epoch, if it voted. */
export async function voteOf(db: Db, epochId: string, coordinatorId: string): Promise<{ recordHash: string; votedAt: Date } | undefined> {
  const row = (
    await db.query<{ record_hash: string; voted_at: Date }>("SELECT record_hash, voted_at FROM economy_epoch_votes WHERE epoch_id = $1 AND coordinator_id = $2", [epochId, coordinatorId])
  ).rows[0];
  return row && { recordHash: row.record_hash, votedAt: row.voted_at };
}

/** Final epochs, newest first; `before` an epoch id (ids sort as their hours do). */
export async function finalEpochs(db: Db, opts: { before?: CursorKey | undefined; limit: number }): Promise<Page<EpochSummary>> {
  const { rows } = await db.query<EpochRow>(
    `SELECT ${EPOCH_COLUMNS} FROM economy_epochs WHERE status = 'final' AND ($1::text IS NULL OR epoch_id < $1) ORDER BY epoch_id DESC LIMIT $2`,
    [opts.before?.[0] ?? null, opts.limit + 1],
  );
  return pageOf(rows, opts.limit, (r) => [r.epoch_id, r.final_record_hash ?? ""], epochSummary);
}

/** The newest final epoch before `epochId` (or of all), with its record. */
export async function latestFinalEpoch(db: Db, before?: string): Promise<(EpochSummary & { readonly record: EpochRecord }) | undefined> {
  const row = (
    await db.query<EpochRow & { record: EpochRecord }>(
      `SELECT ${EPOCH_COLUMNS.split(", ").map((c) => `e.${c}`).join(", ")}, r.record
         FROM economy_epochs e JOIN economy_epoch_records r ON r.epoch_id = e.epoch_id AND r.record_hash = e.final_record_hash
        WHERE e.status = 'final' AND ($1::text IS NULL OR e.epoch_id < $1) ORDER BY e.epoch_id DESC LIMIT 1`,
      [before ?? null],
    )
  ).rows[0];
  return row && { ...epochSummary(row), record: row.record };
}

/** What a final epoch issued, to whom: ordered by role, then account, as the record orders them. */
export async function epochAllocations(db: Db, epochId: string): Promise<Allocation[]> {
  const { rows } = await db.query<{ role: AllocationRole; account_id: string; millicredits: number }>(
    `SELECT role, account_id, millicredits FROM economy_epoch_allocations WHERE epoch_id = $1
      ORDER BY CASE role WHEN 'contributor' THEN 0 WHEN 'coordinator' THEN 1 ELSE 2 END, account_id COLLATE "C"`,
    [epochId],
  );
  return rows.map((r) => ({ role: r.role, accountId: r.account_id, millicredits: r.millicredits }));
}

// ---- payment intents ----

export interface IntentView {
  readonly intentId: string;
  readonly status: Exclude<PaymentIntent["status"], "none">;
  readonly accountId: string;
  readonly amountSats: number;
  readonly provider: PaymentProvider;
  readonly development: boolean;
  readonly paymentHash: string;
  readonly bolt11: string;
  readonly satsPerCredit: number;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly settlement: { readonly amountPaidSats: number; readonly mintedMillicredits: number; readonly feeMillicredits: number; readonly paidAt: Date; readonly settledAt: Date } | null;
  /** The coordinator whose provider made the invoice (the signer of intent.created). */
  readonly createdBy: string | null;
  readonly version: number;
}

interface IntentRow {
  intent_id: string;
  status: IntentView["status"];
  account_id: string;
  amount_sats: number;
  provider: PaymentProvider;
  development: boolean;
  payment_hash: string;
  bolt11: string;
  sats_per_credit: number;
  created_at: Date;
  expires_at: Date;
  amount_paid_sats: number | null;
  minted_millicredits: number | null;
  fee_millicredits: number | null;
  paid_at: Date | null;
  settled_at: Date | null;
  created_by: string | null;
  last_seq: number;
}
const INTENT_COLUMNS = `i.intent_id, i.status, i.account_id, i.amount_sats, i.provider, i.development, i.payment_hash, i.bolt11, i.sats_per_credit,
  i.created_at, i.expires_at, i.amount_paid_sats, i.minted_millicredits, i.fee_millicredits, i.paid_at, i.settled_at, i.last_seq,
  (SELECT e.signer FROM economy_intent_events e WHERE e.intent_id = i.intent_id AND e.type = 'intent.created' LIMIT 1) AS created_by`;
const intentView = (r: IntentRow): IntentView => ({
  intentId: r.intent_id,
  status: r.status,
  accountId: r.account_id,
  amountSats: r.amount_sats,
  provider: r.provider,
  development: r.development,
  paymentHash: r.payment_hash,
  bolt11: r.bolt11,
  satsPerCredit: r.sats_per_credit,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  settlement:
    r.status === "settled"
      ? { amountPaidSats: r.amount_paid_sats!, mintedMillicredits: r.minted_millicredits!, feeMillicredits: r.fee_millicredits!, paidAt: r.paid_at!, settledAt: r.settled_at! }
      : null,
  createdBy: r.created_by,
  version: r.last_seq,
});

export async function intentById(db: Db, intentId: string): Promise<IntentView | undefined> {
  const row = (await db.query<IntentRow>(`SELECT ${INTENT_COLUMNS} FROM economy_intents i WHERE i.intent_id = $1`, [intentId])).rows[0];
  return row && intentView(row);
}

/** Open intents whose invoices this coordinator's provider made, soonest to expire first. */
export async function openIntentsCreatedBy(db: Db, coordinatorId: string, limit: number): Promise<IntentView[]> {
  const { rows } = await db.query<IntentRow>(
    `SELECT ${INTENT_COLUMNS} FROM economy_intents i
      WHERE i.status = 'open'
        AND EXISTS (SELECT 1 FROM economy_intent_events c WHERE c.intent_id = i.intent_id AND c.type = 'intent.created' AND c.signer = $1)
      ORDER BY i.expires_at, i.intent_id LIMIT $2`,
    [coordinatorId, limit],
  );
  return rows.map(intentView);
}

/** Intents this coordinator's provider made that settled at or after `since`, oldest first. */
export async function settledIntentsCreatedBy(db: Db, coordinatorId: string, since: Date, limit: number): Promise<IntentView[]> {
  const { rows } = await db.query<IntentRow>(
    `SELECT ${INTENT_COLUMNS} FROM economy_intents i
      WHERE i.status = 'settled' AND i.settled_at >= $2
        AND EXISTS (SELECT 1 FROM economy_intent_events c WHERE c.intent_id = i.intent_id AND c.type = 'intent.created' AND c.signer = $1)
      ORDER BY i.settled_at, i.intent_id LIMIT $3`,
    [coordinatorId, since, limit],
  );
  return rows.map(intentView);
}

// ---- custody policies ----

export interface PolicySummary {
  readonly policyId: string;
  readonly state: PolicyLine;
  readonly firstAt: Date;
  readonly updatedAt: Date;
  readonly version: number;
}

interface PolicyRow {
  policy_id: string;
  state: PolicyLine;
  first_at: Date;
  updated_at: Date;
  last_seq: number;
}
const policySummary = (r: PolicyRow): PolicySummary => ({ policyId: r.policy_id, state: r.state, firstAt: r.first_at, updatedAt: r.updated_at, version: r.last_seq });

export async function policyById(db: Db, policyId: string): Promise<PolicySummary | undefined> {
  const row = (await db.query<PolicyRow>("SELECT policy_id, state, first_at, updated_at, last_seq FROM economy_policies WHERE policy_id = $1", [policyId])).rows[0];
  return row && policySummary(row);
}

/** Policy lines in the order they were first proposed. */
export async function policyLines(db: Db, opts: { after?: CursorKey | undefined; limit: number }): Promise<Page<PolicySummary>> {
  const { rows } = await db.query<PolicyRow & { cursor_at: string }>(
    `SELECT policy_id, state, first_at, updated_at, last_seq, ${microsOf("first_at")} AS cursor_at FROM economy_policies
      WHERE ($1::bigint IS NULL OR (first_at, policy_id) > (${timeOfMicros("$1")}, $2::text))
      ORDER BY first_at, policy_id LIMIT $3`,
    [opts.after?.[0] ?? null, opts.after?.[1] ?? null, opts.limit + 1],
  );
  return pageOf(rows, opts.limit, (r) => [r.cursor_at, r.policy_id], policySummary);
}

/** A version put to a policy line's custodians, and its activation if it took effect. */
export interface PolicyVersion {
  readonly version: number;
  readonly documentHash: string;
  readonly policy: CustodyPolicy;
  readonly proposedAt: Date;
  readonly proposedBy: string;
  readonly activation: { readonly activatedAt: Date; readonly signatures: readonly CustodianSignature[]; readonly activatedBy: string } | null;
}

/** A line's versions, newest proposal first (a proposal replaced while pending is listed too, never activated). */
export async function policyVersions(db: Db, policyId: string, limit: number): Promise<PolicyVersion[]> {
  const { rows } = await db.query<{
    version: number;
    document_hash: string;
    policy: CustodyPolicy;
    proposed_at: Date;
    signer: string;
    activated_at: Date | null;
    signatures: CustodianSignature[] | null;
    activated_by: string | null;
  }>(
    `SELECT p.version, p.document_hash, p.policy, p.proposed_at, p.signer, a.activated_at, a.signatures, a.signer AS activated_by
       FROM economy_policy_proposals p
       LEFT JOIN economy_policy_activations a ON a.policy_id = p.policy_id AND a.version = p.version AND a.document_hash = p.document_hash
      WHERE p.policy_id = $1 ORDER BY p.seq DESC, p.event_id DESC LIMIT $2`,
    [policyId, limit],
  );
  return rows.map((r) => ({
    version: r.version,
    documentHash: r.document_hash,
    policy: r.policy,
    proposedAt: r.proposed_at,
    proposedBy: r.signer,
    activation: r.activated_at ? { activatedAt: r.activated_at, signatures: r.signatures ?? [], activatedBy: r.activated_by! } : null,
  }));
}
