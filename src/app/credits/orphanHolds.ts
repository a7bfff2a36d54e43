import { creditSubject, type CreditCommand } from "../../domain/credits/commands.js";
import { DomainRuleViolation } from "../../domain/decider.js";
import { taskSubject } from "../../domain/tasks/task.js";
import type { EventStore } from "../../adapters/nats/eventStore.js";
import { taskHoldsWithoutTask } from "../../projections/credits/queries.js";
import type { Db } from "../../projections/keyset.js";
import type { HandleCommand } from "../commands.js";
import { systemClock } from "../clock.js";
import { every } from "../every.js";

/** How long a task hold may wait for its task before it is taken for left behind. */
export const ORPHAN_HOLD_GRACE_MS = 10 * 60_000;

/**
 * Releases task holds whose task was never appended: submitting holds first and appends the
 * task after, so a node that dies between the two leaves a hold behind. A hold is released only
 * when it is older than the grace and its task's subject holds nothing on the tasks stream (the
 * stream, not the projection, says the task does not exist). Every node may run one: the
 * release's command id is the task's, and a hold released already is a refusal meaning done.
 */
export function startOrphanHoldSweeper(opts: {
  readonly pool: Db;
  readonly store: Pick<EventStore, "readAggregate">;
  readonly handleCredit: HandleCommand<CreditCommand>;
  readonly everyMs: number;
  readonly graceMs?: number;
  readonly clock?: () => Date;
  readonly onError?: (err: unknown) => void;
}) {
  const clock = opts.clock ?? systemClock;
  async function sweep(): Promise<string[]> {
    const now = clock();
    const released: string[] = [];
    for (const hold of await taskHoldsWithoutTask(opts.pool, new Date(now.getTime() - (opts.graceMs ?? ORPHAN_HOLD_GRACE_MS)))) {
      // Read, not lastSeqOf: that answers 0 when the request fails, which must not release a live task's hold.
      if ((await opts.store.readAggregate(taskSubject(hold.taskId))).version > 0) continue;
      try {
        await opts.handleCredit(creditSubject(hold.accountId), { kind: "release", holdId: hold.holdId }, { commandId: `orphan-release:${hold.taskId}`, now });
        released.push(hold.taskId);
      } catch (err) {
        if (!(err instanceof DomainRuleViolation && err.code === "unknown_hold")) opts.onError?.(err);
      }
    }
    return released;
  }
  const loop = every(opts.everyMs, sweep, (err) => opts.onError?.(err));
  return { sweep, stop: () => loop.stop() };
}
