import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { verificationPool, type SignatureVerifier } from "../../src/adapters/crypto/verificationPool.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import { auditLedger } from "../../src/adapters/ledger/audit.js";
import { startChainer, type Chainer } from "../../src/adapters/ledger/chainer.js";
import { createEventStore } from "../../src/adapters/nats/eventStore.js";
import { creditAccountDecider, creditSubject } from "../../src/domain/credits/commands.js";
import { creditEvents } from "../../src/domain/credits/events.js";
import { newSigner } from "../support/events.js";
import { eventually } from "../support/node.js";
import { startTestNats, type TestNats } from "../support/nats.js";

describe("the ordering ledger with two coordinators chaining at once", () => {
  let nats: TestNats;
  let verifier: SignatureVerifier;
  const a = newSigner();
  const b = newSigner();
  const writer = newSigner();
  beforeAll(async () => {
    nats = await startTestNats();
    verifier = verificationPool(2);
  });
  afterAll(async () => {
    await verifier?.close();
    await nats?.close();
  });

  it("stays one linear chain, with every source event exactly once, when one chainer dies mid-run", async () => {
    const store = (name: string) => nats.connect(name).then(createEventStore);
    const chainerOf = async (name: string, signer: typeof a): Promise<{ chainer: Chainer; close: () => Promise<void> }> => {
      const nc = await nats.connect(name);
      const chainer = await startChainer({ nc, store: await createEventStore(nc), sealer: inlineSealer(signer), checkpointEvery: 50, checkpointIntervalMs: 500, ackWaitMs: 2_000 });
      return { chainer, close: () => nc.close() };
    };
    const first = await chainerOf("chainer-a", a);
    const second = await chainerOf("chainer-b", b);

    // Source events: 40 accounts, 10 credits each, written concurrently from their own connection.
    const handle = commandHandler({ store: await store("writer"), decider: creditAccountDecider, registry: creditEvents, sealer: inlineSealer(writer) });
    const writes = Array.from({ length: 40 }, (_, acct) =>
      (async () => {
        for (let i = 0; i < 10; i++) await handle(creditSubject(`acct-${acct}`), { kind: "earn", amount: 1_000, reason: "work" }, { now: new Date() });
      })(),
    );
    /** Records per signer in the chain so far. */
    const signersOf = async () => {
      const reader = await store("signers");
      const last = await reader.lastSeqOf("EC_LEDGER", "ec.ledger.chain");
      const counts = new Map<string, number>();
      if (last === 0) return counts;
      for await (const c of reader.read("EC_LEDGER", { subjects: "ec.ledger.chain", toSeq: last })) {
        for (const e of JSON.parse(new TextDecoder().decode(c.data)) as { signer: string }[]) counts.set(e.signer, (counts.get(e.signer) ?? 0) + 1);
      }
      return counts;
    };
    // Kill the second chainer while events still pour in, once it has chained some itself: its
    // connection drops without a goodbye.
    await eventually("both chainers to have chained records", async () => {
      const counts = await signersOf();
      return (counts.get(b.publicKey) ?? 0) > 0 && (counts.get(a.publicKey) ?? 0) > 0 ? true : undefined;
    });
    await second.close();
    await Promise.all(writes);

    await eventually("every source event chained", async () => ([...(await signersOf()).values()].reduce((x, y) => x + y, 0) >= 400 ? true : undefined), 30_000);
    await first.chainer.checkpoint();
    const audit = await auditLedger({ store: await store("auditor"), verifier, trustedKeys: new Set([a.publicKey, b.publicKey]) });
    expect(audit.issue).toBeUndefined();
    expect(audit.ok).toBe(true);
    expect(audit.records).toBe(400);
    expect(audit.latestCheckpoint?.size).toBe(400);
    expect(audit.latestCheckpoint?.headHash).toBe(audit.headHash);
    const signers = await signersOf();
    expect((signers.get(a.publicKey) ?? 0) + (signers.get(b.publicKey) ?? 0)).toBe(400);
    await first.chainer.stop();
    await second.chainer.stop().catch(() => undefined);
  }, 90_000);
});
