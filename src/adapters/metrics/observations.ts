import { z } from "zod";

/** What the node sees of its streams and read models: the shapes its gauges and its status share. */

const Count = z.number().int().min(0);
export const CountsByStatus = z.record(z.string(), Count);

/** A part the node could not read in time, or at all: why. */
export const Unavailable = z.object({ unavailable: z.string() });
export type Unavailable = z.infer<typeof Unavailable>;
export const part = <T extends z.ZodType>(t: T) => z.union([t, Unavailable]);
export type Part<T> = T | Unavailable;
export const isUnavailable = <T>(p: Part<T>): p is Unavailable => typeof p === "object" && p !== null && "unavailable" in p;

export const StreamSize = z.object({ name: z.string(), messages: Count, bytes: Count, firstSeq: Count, lastSeq: Count });
export type StreamSize = z.infer<typeof StreamSize>;

export const ConsumerState = z.object({
  stream: z.string(),
  name: z.string(),
  /** Messages not delivered yet, and delivered but not acknowledged. */
  pending: Count,
  ackPending: Count,
  /** Messages the server delivered more than once (a nak, an ack wait that ran out). */
  redelivered: Count,
});
export type ConsumerState = z.infer<typeof ConsumerState>;

export const ProjectionLag = z.object({
  projection: z.string(),
  stream: z.string(),
  /** The last stream sequence the projection applied (0: none yet). */
  checkpoint: Count,
  streamLastSeq: Count,
  /** Stream sequences the projection has not applied yet. */
  lag: Count,
});
export type ProjectionLag = z.infer<typeof ProjectionLag>;

export const LedgerState = z.object({
  /** Records in the ledger and the hash of the last, as this node's chainer last saw them. */
  size: Count,
  headHash: z.string(),
  lastCheckpoint: z.object({ size: Count, hash: z.string() }).nullable(),
  /** Commits of each chained stream not in the ledger yet. */
  lag: CountsByStatus,
});
export type LedgerState = z.infer<typeof LedgerState>;

export const NodeObservations = z.object({
  streams: part(z.array(StreamSize)),
  consumers: part(z.array(ConsumerState)),
  projections: part(z.array(ProjectionLag)),
  queue: part(z.object({ tasks: CountsByStatus, subtasks: CountsByStatus })),
  agents: part(CountsByStatus),
  ledger: part(LedgerState),
});
export type NodeObservations = z.infer<typeof NodeObservations>;
