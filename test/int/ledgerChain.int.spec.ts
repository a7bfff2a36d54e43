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
    // Kill the second chainer while events still pour in: its connection drops without a goodbye.
    await eventually("the second chainer to chain something", async () => (second.chainer.head().size > 20 ? true : undefined));
    await second.close();
    await Promise.all(writes);

    await eventually("every source event chained", async () => (first.chainer.head().size >= 400 ? true : undefined), 30_000);
    await first.chainer.checkpoint();
    const audit = await auditLedger({ store: await store("auditor"), verifier, trustedKeys: new Set([a.publicKey, b.publicKey]) });
    expect(audit.issue).toBeUndefined();
    expect(audit.ok).toBe(true);
    expect(audit.records).toBe(400);
    expect(audit.latestCheckpoint?.size).toBe(400);
    expect(audit.latestCheckpoint?.headHash).toBe(audit.headHash);
    // Both coordinators wrote part of the one chain.
    const signers = new Map<string, number>();
    for await (const c of (await store("signers")).read("EC_LEDGER", { subjects: "ec.ledger.chain", toSeq: audit.latestCheckpoint!.seq - 1 })) {
      for (const e of JSON.parse(new TextDecoder().decode(c.data)) as { signer: string }[]) signers.set(e.signer, (signers.get(e.signer) ?? 0) + 1);
    }
    expect(signers.get(b.publicKey)).toBeGreaterThan(0);
    expect(signers.get(a.publicKey)).toBeGreaterThan(0);
    await first.chainer.stop();
    await second.chainer.stop().catch(() => undefined);
  }, 90_000);
});
