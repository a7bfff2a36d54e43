import type { SignatureVerifier } from "../../src/adapters/crypto/verificationPool.js";
import { createEventStore, type EventStore } from "../../src/adapters/nats/eventStore.js";
import { startLiveProjection, type LiveProjection } from "../../src/projections/live.js";
import type { Projector } from "../../src/projections/projector.js";
import { startTestNats, type TestNats } from "./nats.js";
import { createTestDatabase, type TestDatabase } from "./postgres.js";

export interface ProjectionHarness {
  readonly nats: TestNats;
  readonly db: TestDatabase;
  readonly store: EventStore;
  readonly live: LiveProjection;
  /** Waits until the projection has caught up with everything `stream` holds now. */
  settle(stream: string): Promise<void>;
  close(): Promise<void>;
}

/** A private nats-server, a fresh database, and one projection following the streams live. */
export async function startProjectionHarness(projector: Projector, opts: { verifier?: SignatureVerifier } = {}): Promise<ProjectionHarness> {
  const [nats, db] = await Promise.all([startTestNats(), createTestDatabase()]);
  const store = await createEventStore(await nats.connect());
  const live = startLiveProjection(projector, { store, pool: db.pool, log: { quarantined: () => undefined }, ...opts });
  return {
    nats,
    db,
    store,
    live,
    settle: async (stream) => live.waitFor(stream, await store.lastSeq(stream)),
    close: async () => {
      await live.stop();
      await db.drop();
      await nats.close();
    },
  };
}
