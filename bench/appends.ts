import { randomUUID } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { generatePrivateKeyPem, signerFromPrivateKeyPem } from "../src/adapters/crypto/ed25519.js";
import { sealEvent } from "../src/adapters/crypto/eventSigning.js";
import { signingPool } from "../src/adapters/crypto/signingPool.js";
import { commandHandler } from "../src/adapters/events/commandHandler.js";
import { createEventStore, encodeCommit } from "../src/adapters/nats/eventStore.js";
import { creditAccountDecider, creditSubject } from "../src/domain/credits/commands.js";
import { creditEvents } from "../src/domain/credits/events.js";
import { pooled } from "./support.js";

const pem = generatePrivateKeyPem();
export const signer = signerFromPrivateKeyPem(pem);

/** Raw limit: JetStream publishes of a same-sized payload, no signing, no expectation, same concurrency. */
export async function rawPublishRate(nc: NatsConnection, count: number, inFlight: number): Promise<number> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "BENCH_RAW", subjects: ["bench.raw.>"], duplicate_window: 120_000_000_000 });
  const sample = encodeCommit([
    sealEvent(signer, { id: randomUUID(), type: "credits.earned", subject: "ec.credits.account.acct-0001", data: { amount: 1000, reason: "bench" }, time: new Date().toISOString(), schemaVersion: 1 }),
  ]);
  const js = jetstream(nc);
  const ids = Array.from({ length: count }, (_, i) => i);
  const started = performance.now();
  await pooled(ids, inFlight, (i) => js.publish(`bench.raw.${i % 1000}`, sample, { msgID: `raw-${i}` }));
  const rate = count / ((performance.now() - started) / 1000);
  await jsm.streams.delete("BENCH_RAW");
  return rate;
}

/**
 * Signed, concurrency-checked appends: each a credit command read-decided on the cached account
 * state, sealed (canonical JSON + Ed25519) and appended with the expected subject sequence.
 */
export async function creditWriter(nc: NatsConnection) {
  const store = await createEventStore(nc);
  const sealer = signingPool(pem);
  const handle = commandHandler({ store, decider: creditAccountDecider, registry: creditEvents, sealer });
  return { handle, close: () => (store.close(), sealer.close()) };
}

/**
 * `writers` writers run at once (one per account unless given); each owns every `writers`-th of
 * the `accounts` accounts and appends `perAccount` rounds over them, one command after another.
 */
export async function signedAppendRate(
  writer: Awaited<ReturnType<typeof creditWriter>>,
  accounts: number,
  perAccount: number,
  writers = accounts,
): Promise<number> {
  const { handle } = writer;
  const subjects = Array.from({ length: accounts }, (_, i) => creditSubject(`acct-${String(i).padStart(4, "0")}`));
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(writers, accounts) }, async (_, w) => {
      for (let i = 0; i < perAccount; i++) {
        for (let s = w; s < accounts; s += writers) await handle(subjects[s]!, { kind: "earn", amount: 1000 + i, reason: "bench" }, { now: new Date() });
      }
    }),
  );
  return (accounts * perAccount) / ((performance.now() - started) / 1000);
}
