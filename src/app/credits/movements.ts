import { creditSubject } from "../../domain/credits/commands.js";
import type { CreditMove } from "../../domain/credits/taskPayments.js";
import { DomainRuleViolation } from "../../domain/decider.js";
import type { CommandHandlers } from "../commandHandlers.js";
import { eventIdFor } from "../../adapters/crypto/eventSigning.js";
import type { EventStore } from "../../adapters/nats/eventStore.js";

/**
 * Whether an account's stream holds the movement a command id makes: its events' ids derive from
 * the command id (eventIdFor), so a movement made once, however long ago, is found there. The
 * stream's duplicate window only covers a retry within minutes; this covers one after a node was
 * down for longer, at the cost of reading the account's history.
 */
export function movementLookup(store: Pick<EventStore, "readAggregate">) {
  const histories = new Map<string, Promise<Set<string>>>();
  const idsOn = (account: string) => {
    let ids = histories.get(account);
    if (!ids) {
      ids = store.readAggregate(creditSubject(account)).then(({ commits }) => {
        const out = new Set<string>();
        for (const c of commits) for (const e of JSON.parse(new TextDecoder().decode(c.data)) as { id?: string }[]) if (typeof e.id === "string") out.add(e.id);
        return out;
      });
      histories.set(account, ids);
    }
    return ids;
  };
  return {
    /** Reads each account's history once per lookup: make a new lookup for a new question. */
    moved: async (account: string, commandId: string): Promise<boolean> => (await idsOn(account)).has(eventIdFor(commandId, 0)),
  };
}

/** Refusals that mean the movement was made before (the hold is settled or released already). */
const DONE = new Set(["unknown_hold"]);

/**
 * A flow's credit movements, appended in order. A commit delivered before (`redelivered`) has
 * each movement looked for first (movementLookup): one made before is not made again. A
 * movement the rules refuse is reported and skipped; a refusal that means "done" is silent.
 */
export async function runCreditMoves(
  deps: { readonly store: Pick<EventStore, "readAggregate">; readonly handlers: Pick<CommandHandlers, "account">; readonly now: Date; readonly onError?: ((err: unknown) => void) | undefined },
  moves: readonly CreditMove[],
  redelivered: boolean,
): Promise<void> {
  const lookup = redelivered ? movementLookup(deps.store) : undefined;
  for (const move of moves) {
    if (lookup && (await lookup.moved(move.account, move.commandId))) continue;
    await deps.handlers.account(creditSubject(move.account), move.command, { commandId: move.commandId, now: deps.now }).catch((err: unknown) => {
      if (!(err instanceof DomainRuleViolation)) throw err;
      if (!DONE.has(err.code)) deps.onError?.(new Error(`credits: ${move.commandId} on ${move.account} was refused: ${err.code}: ${err.message}`));
    });
  }
}
