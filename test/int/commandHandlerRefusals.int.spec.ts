import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import { createEventStore, type EventStore } from "../../src/adapters/nats/eventStore.js";
import { creditAccountDecider, creditSubject, type CreditCommand } from "../../src/domain/credits/commands.js";
import { creditEvents } from "../../src/domain/credits/events.js";
import { newSigner } from "../support/events.js";
import { startTestNats, type TestNats } from "../support/nats.js";

const signer = newSigner();
let nats: TestNats;
let store: EventStore;
/** Another process's writer: its own connection, its own cache. */
let other: ReturnType<typeof handlerOn>;

function handlerOn(s: EventStore) {
  return commandHandler({ store: s, decider: creditAccountDecider, registry: creditEvents, sealer: inlineSealer(signer) });
}

/** The store, with the history reads and last-sequence asks it serves counted. */
function counted(s: EventStore, lastSeqOf: EventStore["lastSeqOf"] = s.lastSeqOf) {
  const calls = { reads: 0, lastSeqs: 0 };
  const store: EventStore = {
    ...s,
    readAggregate: (subject) => (calls.reads++, s.readAggregate(subject)),
    lastSeqOf: (stream, subject) => (calls.lastSeqs++, lastSeqOf(stream, subject)),
  };
  return { store, calls };
}

const now = { now: new Date("2026-12-04T10:00:00Z") };
const spend = (amount: number): CreditCommand => ({ kind: "spend", amount, reason: "test" });
const earn = (amount: number): CreditCommand => ({ kind: "earn", amount, reason: "test" });

beforeAll(async () => {
  nats = await startTestNats();
  store = await createEventStore(await nats.connect("writer"));
  other = handlerOn(await createEventStore(await nats.connect("other-writer")));
});
afterAll(() => nats.close());

describe("a command its cached state refuses", () => {
  it("is refused on one ask of the stream's last sequence when the cache is still the stream's state", async () => {
    const s = creditSubject("current");
    const { store: c, calls } = counted(store);
    const handle = handlerOn(c);
    await handle(s, earn(1_000), now);
    await handle(s, spend(400), now);
    const before = { ...calls };

    await expect(handle(s, spend(601), now)).rejects.toMatchObject({ code: "insufficient_credits" });

    expect(calls).toEqual({ reads: before.reads, lastSeqs: before.lastSeqs + 1 });
    expect(await handle.read(s)).toEqual({ available: 600, held: {} });
  });

  it("is decided again on the stream's state when another writer moved the account on", async () => {
    const s = creditSubject("moved-on");
    const handle = handlerOn(store);
    await handle(s, earn(1_000), now);
    await other(s, earn(5_000), now);

    const spent = await handle(s, spend(3_000), now);

    expect(spent.events.map((e) => e.type)).toEqual(["credits.spent"]);
    expect(await other.read(s)).toEqual({ available: 3_000, held: {} });
  });

  it("is decided again on a fresh read when the stream cannot say its last sequence (lastSeqOf answers 0)", async () => {
    const s = creditSubject("unasked");
    const { store: c, calls } = counted(store, async () => 0);
    const handle = handlerOn(c);
    await handle(s, earn(1_000), now);
    await other(s, earn(5_000), now);

    await expect(handle(s, spend(2_000), now)).resolves.toMatchObject({ duplicate: false });
    expect(calls.reads).toBe(2);
  });

  it("is decided again on a fresh read when the account was cached before its first commit", async () => {
    const s = creditSubject("first-commit-elsewhere");
    const { store: c } = counted(store, async () => 0);
    const handle = handlerOn(c);
    await expect(handle(s, spend(1), now)).rejects.toMatchObject({ code: "insufficient_credits" });
    await other(s, earn(5_000), now);

    await expect(handle(s, spend(2_000), now)).resolves.toMatchObject({ duplicate: false });
  });
});
