import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Ed25519Signer } from "../../src/adapters/crypto/ed25519.js";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import type { LedgerLocation } from "../../src/adapters/ledger/audit.js";
import { startChainer, type Chainer } from "../../src/adapters/ledger/chainer.js";
import { createEventStore, type EventStore } from "../../src/adapters/nats/eventStore.js";
import { creditAccountDecider, creditSubject } from "../../src/domain/credits/commands.js";
import { creditEvents } from "../../src/domain/credits/events.js";
import type { EventEnvelope } from "../../src/domain/events/envelope.js";
import { LEDGER_STREAM } from "../../src/domain/ledger/record.js";
import { newSigner } from "./events.js";
import { eventually } from "./node.js";

export interface LedgerWriter {
  /** The chainer's key: the one coordinator an auditor trusts. */
  readonly coordinator: Ed25519Signer;
  readonly chainer: Chainer;
  /** Earns credits `count` times (one source event each) and waits until all are chained. */
  write(count: number): Promise<void>;
  stop(): Promise<void>;
}

/** A chainer, as a node runs it, and a writer of credit events for it to chain. */
export async function startLedgerWriter(connect: (name: string) => Promise<NatsConnection>, opts: { checkpointEvery: number }): Promise<LedgerWriter> {
  const coordinator = newSigner();
  const nc = await connect("chainer");
  const chainer = await startChainer({ nc, store: await createEventStore(nc), sealer: inlineSealer(coordinator), checkpointEvery: opts.checkpointEvery, checkpointIntervalMs: 3_600_000 });
  const handle = commandHandler({ store: await createEventStore(await connect("writer")), decider: creditAccountDecider, registry: creditEvents, sealer: inlineSealer(newSigner()) });
  let written = chainer.head().size;
  return {
    coordinator,
    chainer,
    async write(count) {
      for (let i = 0; i < count; i++) {
        await handle(creditSubject(`acct-${written % 5}`), { kind: "earn", amount: 1_000 + written, reason: "work" }, { now: new Date() });
        written += 1;
      }
      await eventually("every credit event chained", async () => (chainer.head().size >= written ? true : undefined));
    },
    stop: () => chainer.stop(),
  };
}

/** One message of a ledger as a tamperer sees it: its kind, its events, and its exact text. */
export interface LedgerMessage {
  readonly kind: "chain" | "checkpoints";
  text: string;
  readonly events: EventEnvelope[];
}

export async function readLedgerMessages(store: EventStore): Promise<LedgerMessage[]> {
  const messages: LedgerMessage[] = [];
  for await (const c of store.read(LEDGER_STREAM)) {
    const text = new TextDecoder().decode(c.data);
    if (c.subject.endsWith(".chain")) messages.push({ kind: "chain", text, events: JSON.parse(text) as EventEnvelope[] });
    else if (c.subject.endsWith(".checkpoints")) messages.push({ kind: "checkpoints", text, events: JSON.parse(text) as EventEnvelope[] });
  }
  return messages;
}

/** Writes `messages` in order into a fresh stream TAMPER_<name> with subjects tamper<name>.chain / .checkpoints. */
export async function copyLedger(nc: NatsConnection, name: string, messages: readonly { kind: "chain" | "checkpoints"; text: string }[]): Promise<LedgerLocation> {
  const stream = `TAMPER_${name.toUpperCase()}`;
  const prefix = `tamper${name}`;
  await (await jetstreamManager(nc)).streams.add({ name: stream, subjects: [`${prefix}.>`] });
  const js = jetstream(nc);
  for (const m of messages) await js.publish(`${prefix}.${m.kind}`, new TextEncoder().encode(m.text));
  return { stream, chainSubject: `${prefix}.chain`, checkpointSubject: `${prefix}.checkpoints` };
}
