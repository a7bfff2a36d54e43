import { createHash } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import type { SignatureVerifier } from "../adapters/crypto/verificationPool.js";
import { admitAll } from "../adapters/events/admission.js";
import type { EventStore, RawCommit } from "../adapters/nats/eventStore.js";
import { storableText } from "../adapters/postgres/storableText.js";
import { DuplicateEventError, type ProjectedCommit, type ProjectionSession, type Projector, type Rejection, type SessionOptions } from "./projector.js";

export interface ProjectionLog {
  quarantined(entry: { projection: string; stream: string; seq: number; eventId?: string; reason: string }): void;
}

export const consoleProjectionLog: ProjectionLog = {
  quarantined: (e) =>
    console.warn(
      `[projection ${e.projection}] quarantined ${e.stream}#${e.seq}${e.eventId ? ` event ${e.eventId}` : ""}: ${e.reason}`,
    ),
};

/** What every projection runner works with: the streams, the database, and how it checks. */
export interface ProjectionRunOptions {
  readonly store: EventStore;
  readonly pool: Pool;
  readonly batchSize?: number;
  readonly log?: ProjectionLog;
  /** Checks signatures the verification memo does not cover (default: on this thread). */
  readonly verifier?: SignatureVerifier;
  /**
   * The database runs one session at a time (the embedded PGlite): a rebuild then reads its
   * memo on its own transaction's connection, after the previous batch's write, instead of on a
   * second connection that would wait for that transaction to end.
   */
  readonly singleSession?: boolean;
}

export interface BatchOutcome {
  readonly applied: number;
  readonly events: number;
  readonly quarantined: number;
}

type Queryable = Pick<PoolClient, "query">;
type Refusal = Rejection & { payload: Uint8Array };

/** One batch after admission: what may be applied, what is refused, which signatures were checked now. */
export interface Admission {
  readonly stream: string;
  readonly lastSeq: number;
  readonly admitted: ProjectedCommit[];
  readonly refused: Refusal[];
  readonly newlyVerified: { seq: number; digest: Buffer }[];
  readonly payloads: Map<number, Uint8Array>;
  readonly events: number;
}

/** sha256 of the commits in [fromSeq, toSeq] whose signatures were verified before. */
export async function loadVerifiedDigests(db: Queryable, stream: string, fromSeq: number, toSeq: number): Promise<Map<number, Buffer>> {
  const known = await db.query<{ seq: number; digest: Buffer }>(
    "SELECT seq, digest FROM verified_commits WHERE stream = $1 AND seq BETWEEN $2 AND $3",
    [stream, fromSeq, toSeq],
  );
  return new Map(known.rows.map((r) => [Number(r.seq), r.digest]));
}

/**
 * Admission: shape, schema and signature of every commit. A commit whose exact bytes were
 * verified before at the same position skips only the Ed25519 check; the others' signatures
 * are checked together by `verifier` (worker threads in a node, inline in tests).
 */
export async function admitCommits(
  projector: Projector,
  stream: string,
  raws: readonly RawCommit[],
  verified: Map<number, Buffer>,
  verifier?: SignatureVerifier,
): Promise<Admission> {
  const digests = raws.map((raw) => createHash("sha256").update(raw.data).digest());
  const knownGood = (i: number) => verified.get(raws[i]!.seq)?.equals(digests[i]!) ?? false;
  const checks = await admitAll(raws, projector.registry, verifier, knownGood);
  const admitted: ProjectedCommit[] = [];
  const refused: Refusal[] = [];
  const newlyVerified: { seq: number; digest: Buffer }[] = [];
  const payloads = new Map<number, Uint8Array>();
  let events = 0;
  checks.forEach((check, i) => {
    const raw = raws[i]!;
    payloads.set(raw.seq, raw.data);
    if (!check.ok) {
      refused.push({ seq: raw.seq, reason: check.reason, payload: raw.data, ...(check.eventId ? { eventId: check.eventId } : {}) });
      return;
    }
    if (!knownGood(i)) newlyVerified.push({ seq: raw.seq, digest: digests[i]! });
    events += check.events.length;
    admitted.push({ stream, seq: raw.seq, subject: raw.subject, events: check.events });
  });
  return { stream, lastSeq: raws.at(-1)?.seq ?? 0, admitted, refused, newlyVerified, payloads, events };
}

async function writeQuarantine(db: Queryable, projector: Projector, stream: string, refused: readonly Refusal[], log: ProjectionLog): Promise<void> {
  if (refused.length === 0) return;
  await db.query(
    `INSERT INTO projection_quarantine (projection, stream, seq, event_id, reason, payload)
     SELECT $1, $2, * FROM unnest($3::bigint[], $4::text[], $5::text[], $6::bytea[])
     ON CONFLICT DO NOTHING`,
    [
      projector.name,
      stream,
      refused.map((r) => r.seq),
      refused.map((r) => storableText(r.eventId ?? "")),
      refused.map((r) => storableText(r.reason.slice(0, 4000))),
      refused.map((r) => Buffer.from(r.payload)),
    ],
  );
  for (const r of refused) {
    log.quarantined({ projection: projector.name, stream, seq: r.seq, reason: r.reason, ...(r.eventId ? { eventId: r.eventId } : {}) });
  }
}

/**
 * Writes an admitted batch through the projector's session on `db`, which the caller holds inside
 * a transaction: the projector's rows, quarantine entries for refused commits, the verification
 * memo, and the checkpoint.
 */
export async function writeBatch(
  db: PoolClient,
  projector: Projector,
  session: ProjectionSession,
  a: Admission,
  log: ProjectionLog,
): Promise<BatchOutcome> {
  const ruled = a.admitted.length > 0 ? await session.apply(a.admitted) : [];
  const refused = [...a.refused, ...ruled.map((r) => ({ ...r, payload: a.payloads.get(r.seq) ?? new Uint8Array() }))];
  await writeQuarantine(db, projector, a.stream, refused, log);
  if (a.newlyVerified.length > 0) {
    await db.query(
      `INSERT INTO verified_commits (stream, seq, digest)
       SELECT $1, * FROM unnest($2::bigint[], $3::bytea[]) ON CONFLICT DO NOTHING`,
      [a.stream, a.newlyVerified.map((v) => v.seq), a.newlyVerified.map((v) => v.digest)],
    );
  }
  await db.query(
    `INSERT INTO projection_checkpoints (projection, stream, last_seq) VALUES ($1, $2, $3)
     ON CONFLICT (projection, stream) DO UPDATE SET last_seq = EXCLUDED.last_seq`,
    [projector.name, a.stream, a.lastSeq],
  );
  return { applied: a.admitted.length - ruled.length, events: a.events, quarantined: refused.length };
}

/**
 * Failures that say nothing about the data: the connection, the server, a lock or a conflict
 * with another transaction. They are retried as they are; anything else a batch meets is taken
 * to come from a commit in it.
 */
export function isTransientStorageError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (/^(08|40|53|57|58)/.test(code) || code === "55P03");
}

const describeFailure = (err: unknown) => {
  const e = err as { code?: unknown; message?: unknown };
  return `${typeof e?.code === "string" ? `${e.code} ` : ""}${typeof e?.message === "string" ? e.message : String(err)}`;
};

/**
 * Writes a batch inside a savepoint. If it fails for a reason other than a transient one, the
 * batch is written again one commit at a time, each in a savepoint of its own and with a fresh
 * session (the failed one's memory may hold what was rolled back): a commit that still cannot
 * be stored is quarantined with the database's reason and the others are applied, so one
 * event can never stop a projection for good. Returns the session to go on with.
 */
export async function writeBatchSafely(
  db: PoolClient,
  projector: Projector,
  session: ProjectionSession,
  a: Admission,
  log: ProjectionLog,
  reopen: () => ProjectionSession,
): Promise<{ outcome: BatchOutcome; session: ProjectionSession }> {
  await db.query("SAVEPOINT ec_batch");
  try {
    const outcome = await writeBatch(db, projector, session, a, log);
    await session.flush();
    await db.query("RELEASE SAVEPOINT ec_batch");
    return { outcome, session };
  } catch (err) {
    if (err instanceof DuplicateEventError || isTransientStorageError(err)) throw err;
    await db.query("ROLLBACK TO SAVEPOINT ec_batch");
  }
  let applied = 0;
  let events = 0;
  let ruledOut = 0;
  const unstorable: Refusal[] = [];
  for (const commit of a.admitted) {
    await db.query("SAVEPOINT ec_commit");
    try {
      const one = projector.open(db, { careful: true });
      const single: Admission = { ...a, lastSeq: commit.seq, admitted: [commit], refused: [], newlyVerified: [], events: commit.events.length };
      const outcome = await writeBatch(db, projector, one, single, log);
      await one.flush();
      await db.query("RELEASE SAVEPOINT ec_commit");
      applied += outcome.applied;
      events += outcome.events;
      ruledOut += outcome.quarantined;
    } catch (err) {
      if (isTransientStorageError(err)) throw err;
      await db.query("ROLLBACK TO SAVEPOINT ec_commit");
      const eventId = commit.events[0]?.id;
      unstorable.push({ seq: commit.seq, reason: `cannot be stored: ${describeFailure(err)}`, payload: a.payloads.get(commit.seq) ?? new Uint8Array(), ...(eventId ? { eventId } : {}) });
    }
  }
  // What admission refused, what could not be stored, the memo and the checkpoint.
  const rest = await writeBatch(db, projector, session, { ...a, admitted: [], refused: [...a.refused, ...unstorable] }, log);
  await db.query("RELEASE SAVEPOINT ec_batch");
  return { outcome: { applied, events, quarantined: rest.quarantined + ruledOut }, session: reopen() };
}

/**
 * Admits, projects, flushes and checkpoints one batch of one stream on `db` (inside the caller's
 * transaction), in a session of its own.
 */
export async function projectBatch(
  db: PoolClient,
  projector: Projector,
  opts: SessionOptions,
  stream: string,
  raws: readonly RawCommit[],
  log: ProjectionLog,
  verifier?: SignatureVerifier,
): Promise<BatchOutcome> {
  if (raws.length === 0) return { applied: 0, events: 0, quarantined: 0 };
  const verified = await loadVerifiedDigests(db, stream, raws[0]!.seq, raws.at(-1)!.seq);
  const admission = await admitCommits(projector, stream, raws, verified, verifier);
  const open = () => projector.open(db, opts);
  return (await writeBatchSafely(db, projector, open(), admission, log, open)).outcome;
}

export interface CheckpointRow {
  readonly lastSeq: number;
  readonly streamCreated: string | null;
}

export async function readCheckpointRow(db: Queryable, projection: string, stream: string): Promise<CheckpointRow | undefined> {
  const r = await db.query<{ last_seq: number; stream_created: Date | null }>(
    "SELECT last_seq, stream_created FROM projection_checkpoints WHERE projection = $1 AND stream = $2",
    [projection, stream],
  );
  const row = r.rows[0];
  return row && { lastSeq: Number(row.last_seq), streamCreated: row.stream_created?.toISOString() ?? null };
}

/** Records which stream (by creation time) a projection's checkpoint counts in. */
export async function stampCheckpoint(db: Queryable, projection: string, stream: string, created: string): Promise<void> {
  await db.query(
    `INSERT INTO projection_checkpoints (projection, stream, last_seq, stream_created) VALUES ($1, $2, 0, $3)
     ON CONFLICT (projection, stream) DO UPDATE SET stream_created = EXCLUDED.stream_created`,
    [projection, stream, created],
  );
}

/**
 * Whether a checkpoint belongs to this stream: same creation time, and not past its end. A
 * checkpoint with no creation time yet is trusted if it is not past the end.
 */
export function checkpointMatches(row: CheckpointRow, stream: { lastSeq: number; created: string }): boolean {
  if (row.lastSeq > stream.lastSeq) return false;
  return row.streamCreated === null || new Date(row.streamCreated).getTime() === new Date(stream.created).getTime();
}

export async function readCheckpoint(db: Queryable, projection: string, stream: string, forUpdate = false): Promise<number> {
  const r = await db.query<{ last_seq: string }>(
    `SELECT last_seq FROM projection_checkpoints WHERE projection = $1 AND stream = $2${forUpdate ? " FOR UPDATE" : ""}`,
    [projection, stream],
  );
  return r.rows[0] ? Number(r.rows[0].last_seq) : 0;
}

/** Serialises everything that writes one projection's rows: live batches and rebuilds. */
export async function lockProjection(db: PoolClient, projection: string): Promise<void> {
  await db.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`ec-projection:${projection}`]);
}
