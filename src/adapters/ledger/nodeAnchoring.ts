import { eventIdFor } from "../crypto/eventSigning.js";
import type { EventSealer } from "../crypto/signingPool.js";
import type { EventEnvelope } from "../../domain/events/envelope.js";
import type { CheckpointAnchored, CheckpointAnchorFailed } from "../../domain/ledger/anchor.js";
import { ANCHOR_SUBJECT, LEDGER_STREAM } from "../../domain/ledger/record.js";
import { WrongExpectedVersionError, type EventStore } from "../nats/eventStore.js";
import { proxyBroadcaster, startAnchoring, type Anchoring } from "./anchoring.js";
import type { Chainer } from "./chainer.js";

/**
 * The node's side of anchoring: on an interval, the newest checkpoint not yet anchored goes to the
 * anchor proxy (which has the wallet); the transaction id becomes a `ledger.anchored` event, and a
 * failure a `ledger.anchorFailed` event, retried at the next tick. It runs on its own timer and
 * never holds up the queue or the chain.
 */
export function startNodeAnchoring(opts: {
  store: EventStore;
  sealer: EventSealer;
  chainer: Chainer;
  proxyUrl: string;
  proxyToken: string;
  intervalMs: number;
  log: (line: string) => void;
}): Anchoring {
  const decode = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data)) as EventEnvelope[];

  async function lastAnchored(): Promise<number | undefined> {
    const last = await opts.store.lastSeqOf(LEDGER_STREAM, ANCHOR_SUBJECT);
    if (last === 0) return undefined;
    let size: number | undefined;
    for await (const c of opts.store.read(LEDGER_STREAM, { subjects: ANCHOR_SUBJECT, toSeq: last })) {
      for (const e of decode(c.data)) if (e.type === "ledger.anchored") size = Math.max(size ?? 0, (e.data as CheckpointAnchored).checkpointSize);
    }
    return size;
  }

  /** Anchor events go on their own subject, in order; a lost race just means appending after the winner. */
  async function append(type: "ledger.anchored" | "ledger.anchorFailed", data: CheckpointAnchored | CheckpointAnchorFailed, id: string) {
    const envelope = await opts.sealer.seal({ id, type, subject: ANCHOR_SUBJECT, data, time: new Date().toISOString(), schemaVersion: 1 });
    for (let attempt = 1; ; attempt++) {
      try {
        await opts.store.append(ANCHOR_SUBJECT, [envelope], await opts.store.lastSeqOf(LEDGER_STREAM, ANCHOR_SUBJECT));
        return;
      } catch (err) {
        if (!(err instanceof WrongExpectedVersionError) || attempt >= 10) throw err;
      }
    }
  }

  const say = (level: string) => (obj: object, msg: string) => opts.log(`anchoring ${level}: ${msg} ${JSON.stringify(obj)}`);
  return startAnchoring({
    intervalMs: opts.intervalMs,
    latestCheckpoint: () => opts.chainer.latestCheckpoint(),
    lastAnchored,
    broadcast: proxyBroadcaster(opts.proxyUrl, opts.proxyToken),
    record: (anchor) => append("ledger.anchored", anchor, eventIdFor(`anchor:${anchor.checkpointHash}:${anchor.txid}`, 0)),
    reportFailure: (failure) => append("ledger.anchorFailed", failure, eventIdFor(`anchor-failed:${failure.failedAt}:${failure.attempt}`, 0)),
    log: { info: say("info"), warn: say("warning"), error: say("error") },
  });
}
