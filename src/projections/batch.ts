import { createHash } from "node:crypto";
import type { PoolClient } from "pg";
import { checkCommit } from "../adapters/events/commitCheck.js";
import type { RawCommit } from "../adapters/nats/eventStore.js";
import type { ProjectedCommit, Projector, Rejection } from "./projector.js";

export interface ProjectionLog {
  quarantined(entry: { projection: string; stream: string; seq: number; eventId?: string; reason: string }): void;
}

export const consoleProjectionLog: ProjectionLog = {
  quarantined: (e) =>
    console.warn(
      `[projection ${e.projection}] quarantined ${e.stream}#${e.seq}${e.eventId ? ` event ${e.eventId}` : ""}: ${e.reason}`,
    ),
};

export interface BatchOutcome {
  readonly applied: number;
  readonly events: number;
  readonly quarantined: number;
}

const digestOf = (data: Uint8Array) => createHash("sha256").update(data).digest();

/**
 * Admits, projects and checkpoints one batch of commits of one stream on `db`, which the caller
 * holds inside a transaction. Refused commits go to the quarantine table with their reason.
 */
export async function projectBatch(
  db: PoolClient,
  projector: Projector,
  stream: string,
  raws: readonly RawCommit[],
  log: ProjectionLog,
): Promise<BatchOutcome> {
  const last = raws.at(-1);
  if (!last) return { applied: 0, events: 0, quarantined: 0 };
  const first = raws[0]!;
  const memo = new Map<number, Buffer>();
  const known = await db.query<{ seq: string; digest: Buffer }>(
    "SELECT seq, digest FROM verified_commits WHERE stream = $1 AND seq BETWEEN $2 AND $3",
    [stream, first.seq, last.seq],
  );
  for (const row of known.rows) memo.set(Number(row.seq), row.digest);

  const admitted: ProjectedCommit[] = [];
  const refused: (Rejection & { payload: Uint8Array })[] = [];
  const newlyVerified: { seq: number; digest: Buffer }[] = [];
  const payloads = new Map<number, Uint8Array>();
  let events = 0;
  for (const raw of raws) {
    payloads.set(raw.seq, raw.data);
    const digest = digestOf(raw.data);
    const knownGood = memo.get(raw.seq)?.equals(digest) ?? false;
    const check = checkCommit(raw, projector.registry, { signaturesKnownGood: knownGood });
    if (!check.ok) {
      refused.push({ seq: raw.seq, reason: check.reason, payload: raw.data, ...(check.eventId ? { eventId: check.eventId } : {}) });
      continue;
    }
    if (!knownGood) newlyVerified.push({ seq: raw.seq, digest });
    events += check.events.length;
    admitted.push({ stream, seq: raw.seq, subject: raw.subject, events: check.events });
  }

  const ruled = admitted.length > 0 ? await projector.applyBatch(admitted, db) : [];
  for (const r of ruled) refused.push({ ...r, payload: payloads.get(r.seq) ?? new Uint8Array() });

  if (refused.length > 0) {
    await db.query(
      `INSERT INTO projection_quarantine (projection, stream, seq, event_id, reason, payload)
       SELECT $1, $2, * FROM unnest($3::bigint[], $4::text[], $5::text[], $6::bytea[])
       ON CONFLICT DO NOTHING`,
      [
        projector.name,
        stream,
        refused.map((r) => r.seq),
        refused.map((r) => r.eventId ?? ""),
        refused.map((r) => r.reason),
        refused.map((r) => Buffer.from(r.payload)),
      ],
    );
    for (const r of refused) {
      log.quarantined({ projection: projector.name, stream, seq: r.seq, reason: r.reason, ...(r.eventId ? { eventId: r.eventId } : {}) });
    }
  }
  if (newlyVerified.length > 0) {
    await db.query(
      `INSERT INTO verified_commits (stream, seq, digest)
       SELECT $1, * FROM unnest($2::bigint[], $3::bytea[]) ON CONFLICT DO NOTHING`,
      [stream, newlyVerified.map((v) => v.seq), newlyVerified.map((v) => v.digest)],
    );
  }
  await db.query(
    `INSERT INTO projection_checkpoints (projection, stream, last_seq) VALUES ($1, $2, $3)
     ON CONFLICT (projection, stream) DO UPDATE SET last_seq = EXCLUDED.last_seq`,
    [projector.name, stream, last.seq],
  );
  const rejectedEvents = ruled.length;
  return { applied: admitted.length - rejectedEvents, events, quarantined: refused.length };
}

export async function readCheckpoint(db: Pick<PoolClient, "query">, projection: string, stream: string, forUpdate = false): Promise<number> {
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
