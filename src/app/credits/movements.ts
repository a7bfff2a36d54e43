import { creditSubject } from "../../domain/credits/commands.js";
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
