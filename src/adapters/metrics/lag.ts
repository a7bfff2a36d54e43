import type { ProjectionLag } from "./observations.js";

/** Pure arithmetic of how far the derived state trails the streams. */

export interface StreamPosition {
  readonly name: string;
  readonly lastSeq: number;
}
export interface CheckpointPosition {
  readonly projection: string;
  readonly stream: string;
  readonly lastSeq: number;
}
/**
 * Every stream of every projection, with its checkpoint (0 where it has none yet) and how many
 * sequences the stream holds past it. A stream that does not exist (yet) is at 0.
 */
export function projectionLags(
  projections: readonly { readonly name: string; readonly streams: readonly string[] }[],
  checkpoints: readonly CheckpointPosition[],
  streams: readonly StreamPosition[],
): ProjectionLag[] {
  return projections.flatMap((p) =>
    p.streams.map((stream) => {
      const checkpoint = checkpoints.find((c) => c.projection === p.name && c.stream === stream)?.lastSeq ?? 0;
      const streamLastSeq = streams.find((s) => s.name === stream)?.lastSeq ?? 0;
      return { projection: p.name, stream, checkpoint, streamLastSeq, lag: Math.max(0, streamLastSeq - checkpoint) };
    }),
  );
}

export interface ConsumerPosition {
  readonly stream: string;
  readonly name: string;
  /** Messages not delivered yet, and delivered but not acknowledged. */
  readonly pending: number;
  readonly ackPending: number;
}

/**
 * Commits of each chained stream not in the ledger yet: what the chainer's durable consumer on
 * that stream has still to deliver or to acknowledge (it acknowledges a commit once chained).
 */
export function ledgerLags(
  chainedStreams: readonly string[],
  consumers: readonly ConsumerPosition[],
  streams: readonly StreamPosition[],
  chainerConsumer: (stream: string) => string,
): Record<string, number> {
  return Object.fromEntries(
    chainedStreams.map((stream) => {
      const c = consumers.find((x) => x.stream === stream && x.name === chainerConsumer(stream));
      // No chainer has read the stream yet: none of it is chained.
      return [stream, c ? c.pending + c.ackPending : (streams.find((s) => s.name === stream)?.lastSeq ?? 0)];
    }),
  );
}
