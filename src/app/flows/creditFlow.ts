import type { NatsConnection } from "@nats-io/transport-node";
import type pg from "pg";
import { taskSettlement, workPayment, type CreditMove, type HistoryEvent } from "../../domain/credits/taskPayments.js";
import { pressureOf } from "../../domain/credits/workPricing.js";
import { aggregateIdOf, type EventEnvelope } from "../../domain/events/envelope.js";
import { eventRegistry } from "../../domain/events/registry.js";
import { tasksContext } from "../../domain/tasks/context.js";
import { subtaskSubject } from "../../domain/tasks/subtask.js";
import type { TaskRequest } from "../../domain/tasks/taskEvents.js";
import type { SignatureVerifier } from "../../adapters/crypto/verificationPool.js";
import { admitAll, readAdmitted } from "../../adapters/events/admission.js";
import { startReactor, type Reactor } from "../../adapters/events/reactor.js";
import type { EventStore } from "../../adapters/nats/eventStore.js";
import { agentById } from "../../projections/agents/queries.js";
import { queuePressureInputs } from "../../projections/status/queries.js";
import type { CommandHandlers } from "../commandHandlers.js";
import { systemClock } from "../clock.js";
import { runCreditMoves } from "../credits/movements.js";

export const CREDIT_FLOW_CONSUMER = "ec-credit-flow";

export interface CreditFlowOptions {
  readonly nc: NatsConnection;
  readonly store: EventStore;
  readonly handlers: Pick<CommandHandlers, "account">;
  readonly pool: Pick<pg.Pool, "query">;
  /** The coordinator's own account: the model charge and fee of every task go to it. */
  readonly coordinatorAccount: string;
  /** The model a task runs on when it asks for none. */
  readonly defaultModel: string;
  readonly verifier?: SignatureVerifier;
  readonly onError?: (err: unknown) => void;
  readonly clock?: () => Date;
}

/**
 * Runs credits for tasks (src/domain/credits/taskPayments.ts) on a durable consumer of the tasks
 * stream: a worker's owner is paid for each result, a task's end settles its payer's hold.
 *
 * Each movement's command id comes from its cause (the lease, the task), so a commit delivered
 * again within the stream's duplicate window appends nothing new. A commit delivered again later
 * (a node that died before acknowledging and came back after the window) is why a redelivered
 * commit's movements are first looked for on the account: its event ids are those of the same
 * command ids, so a movement made before is found and not made twice.
 */
export async function startCreditFlow(opts: CreditFlowOptions): Promise<Reactor> {
  return startReactor({
    nc: opts.nc,
    stream: tasksContext.stream,
    durable: CREDIT_FLOW_CONSUMER,
    react: creditFlowReaction(opts),
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
}

/** A commit of the tasks stream as the credit flow reacts to it; `deliveries` above 1: it was delivered before. */
export interface DeliveredCommit {
  readonly stream: string;
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly deliveries: number;
  /** The subject's sequence this commit was appended after (0: its first), when the append named one. */
  readonly previousSubjectSeq?: number;
}

const historyEventOf = (e: EventEnvelope): HistoryEvent => ({ type: e.type, data: e.data as Record<string, unknown>, time: e.time });

/** Subjects whose histories the flow keeps as it sees them; the oldest go first. */
const KEPT_HISTORIES = 20_000;

/** The flow's reaction to one commit (what its consumer runs; tests deliver a commit again with it). */
export function creditFlowReaction(opts: Omit<CreditFlowOptions, "nc">): (m: DeliveredCommit) => Promise<void> {
  const registry = eventRegistry(...tasksContext.events);
  const clock = opts.clock ?? systemClock;

  /**
   * Each subject's history as this flow saw it, commit by commit, in stream order. An entry is
   * trusted only while it is whole: each commit names the subject's sequence it was appended
   * after, and one that does not follow the entry (another node's consumer took the commit in
   * between, or the flow restarted) drops it; the history is then read from the stream.
   */
  const seen = new Map<string, { lastSeq: number; events: HistoryEvent[] }>();
  function keep(m: DeliveredCommit, events: readonly HistoryEvent[]) {
    const entry = seen.get(m.subject);
    if (entry?.lastSeq === m.seq) return; // delivered again: taken already
    seen.delete(m.subject);
    if (m.previousSubjectSeq === 0) seen.set(m.subject, { lastSeq: m.seq, events: [...events] });
    else if (entry && m.previousSubjectSeq === entry.lastSeq) seen.set(m.subject, { lastSeq: m.seq, events: [...entry.events, ...events] });
    if (seen.size > KEPT_HISTORIES) seen.delete(seen.keys().next().value!);
  }
  /** The subject's history up to commit `seq`, kept or read. */
  async function historyAt(subject: string, seq: number): Promise<HistoryEvent[]> {
    const entry = seen.get(subject);
    return entry?.lastSeq === seq ? entry.events : read(subject);
  }
  /** A subject's whole history now: kept when the stream's last sequence for it is the kept one. */
  async function historyNow(subject: string): Promise<HistoryEvent[]> {
    const entry = seen.get(subject);
    if (entry && (await opts.store.lastSeqOf(tasksContext.stream, subject)) === entry.lastSeq) return entry.events;
    return read(subject);
  }

  const read = async (subject: string): Promise<HistoryEvent[]> => (await readAdmitted(opts.store, subject, registry, opts.verifier)).map(historyEventOf);

  async function movesFor(envelope: EventEnvelope, subject: string, seq: number): Promise<CreditMove[]> {
    const cause = { subject, eventId: envelope.id };
    const event = { type: envelope.type, data: envelope.data as Record<string, unknown>, time: envelope.time };
    const id = aggregateIdOf(subject);
    if (event.type === "subtask.completed" || event.type === "subtask.failed" || event.type === "subtask.checkPassed") {
      const agentId = String(event.data.agentId ?? "");
      const all = await historyAt(subject, seq);
      // The history up to this event: a later report of another lease must not stand in for it.
      const upTo = all.findIndex((e) => e.type === event.type && e.time === event.time && e.data.leaseId === event.data.leaseId);
      const agent = agentId ? (await agentById(opts.pool, agentId))?.state : undefined;
      const { queued, agents } = await queuePressureInputs(opts.pool);
      return workPayment(event, id, cause, {
        history: upTo >= 0 ? all.slice(0, upTo + 1) : all,
        owner: agent && "profile" in agent ? agent.profile?.owner : undefined,
        blacklisted: agent?.status === "blacklisted",
        pressure: pressureOf(queued, agents),
      });
    }
    if (event.type === "task.completed" || event.type === "task.failed") {
      const task = await historyAt(subject, seq);
      const request = task.find((e) => e.type === "task.submitted")?.data as TaskRequest | undefined;
      if (!request) return [];
      const plan = (task.find((e) => e.type === "task.decomposed")?.data as { subtasks?: { subtaskId: string }[] } | undefined)?.subtasks ?? [];
      const subtaskHistories = event.type === "task.completed" ? await Promise.all(plan.map((p) => historyNow(subtaskSubject(p.subtaskId)))) : [];
      // A settled task's histories are not needed again.
      for (const p of plan) seen.delete(subtaskSubject(p.subtaskId));
      seen.delete(subject);
      return taskSettlement(event, id, cause, {
        payer: request.submitter,
        resourceClass: request.resourceClass,
        model: request.requestedModel ?? opts.defaultModel,
        subtaskHistories,
        coordinatorAccount: opts.coordinatorAccount,
      });
    }
    return [];
  }

  return async (m) => {
    const [check] = await admitAll([{ stream: m.stream, seq: m.seq, subject: m.subject, data: m.data }], registry, opts.verifier);
    if (!check?.ok) {
      seen.delete(m.subject);
      return;
    }
    keep(m, check.events.map(historyEventOf));
    for (const envelope of check.events) {
      await runCreditMoves({ store: opts.store, handlers: opts.handlers, now: clock(), onError: opts.onError }, await movesFor(envelope, m.subject, m.seq), m.deliveries > 1);
    }
  };
}
