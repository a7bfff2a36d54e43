import type { PoolClient } from "pg";
import { priceAggregate } from "../../domain/economy/context.js";
import type { PriceProposals } from "../../domain/economy/priceProposal.js";
import type { PriceEvent } from "../../domain/economy/priceEvents.js";
import type { AppliedCommit, FoldedKind, FoldedRow } from "../foldedRows.js";
import { insertRows, type TypedColumn } from "../insertRows.js";
import type { ProjectedCommit } from "../projector.js";

async function writeCoordinator(db: PoolClient, row: FoldedRow<PriceProposals>): Promise<void> {
  await db.query(
    `INSERT INTO economy_price_coordinators (coordinator_id, state, last_seq, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (coordinator_id) DO UPDATE SET state = EXCLUDED.state, last_seq = EXCLUDED.last_seq, updated_at = EXCLUDED.updated_at`,
    [row.id, JSON.stringify(row.state), row.lastSeq, row.updatedAt],
  );
}

/**
 * A proposal speaks for the coordinator whose key is its subject's id: signed by any other key
 * it would put words in that coordinator's mouth (the decider sees no envelope, so this is
 * where it is refused).
 */
function signedByItsCoordinator(coordinatorId: string, commit: ProjectedCommit): string | undefined {
  const stranger = commit.events.find((e) => e.signer !== coordinatorId);
  return stranger ? `a price proposal of coordinator ${coordinatorId} signed by ${stranger.signer}` : undefined;
}

const PROPOSAL_COLUMNS: readonly TypedColumn[] = [
  ["event_id", "uuid"],
  ["coordinator_id", "text"],
  ["resource_class", "text"],
  ["sats_per_unit", "integer"],
  ["queued", "bigint"],
  ["agents", "bigint"],
  ["capacity", "bigint"],
  ["proposed_at", "timestamptz"],
  ["seq", "bigint"],
];
const LATEST_COLUMNS: readonly TypedColumn[] = [
  ["coordinator_id", "text"],
  ["resource_class", "text"],
  ["sats_per_unit", "integer"],
  ["queued", "bigint"],
  ["agents", "bigint"],
  ["capacity", "bigint"],
  ["proposed_at", "timestamptz"],
  ["event_id", "uuid"],
  ["seq", "bigint"],
];

/** Every proposal into the history, and each coordinator's latest per class (a later one replaces it, an older one never does). */
async function writeProposals(db: PoolClient, applied: readonly AppliedCommit<PriceProposals>[]): Promise<void> {
  const history: unknown[][] = [];
  // One row per coordinator and class in the upsert: Postgres refuses to update a row twice in one statement.
  const latest = new Map<string, unknown[]>();
  for (const { id, commit } of applied) {
    for (const e of commit.events) {
      const { resourceClass, satsPerUnit, queued, agents, capacity, at } = (e as unknown as PriceEvent).data;
      history.push([e.id, id, resourceClass, satsPerUnit, queued, agents, capacity, at, commit.seq]);
      latest.set(`${id} ${resourceClass}`, [id, resourceClass, satsPerUnit, queued, agents, capacity, at, e.id, commit.seq]);
    }
  }
  await insertRows(db, "economy_price_proposals", PROPOSAL_COLUMNS, history);
  await insertRows(
    db,
    "economy_price_latest",
    LATEST_COLUMNS,
    [...latest.values()],
    `(coordinator_id, resource_class) DO UPDATE SET sats_per_unit = EXCLUDED.sats_per_unit, queued = EXCLUDED.queued, agents = EXCLUDED.agents,
       capacity = EXCLUDED.capacity, proposed_at = EXCLUDED.proposed_at, event_id = EXCLUDED.event_id, seq = EXCLUDED.seq
     WHERE EXCLUDED.proposed_at > economy_price_latest.proposed_at`,
  );
}

export const priceKind: FoldedKind<PriceProposals> = {
  table: "economy_price_coordinators",
  idColumn: "coordinator_id",
  of: priceAggregate,
  write: writeCoordinator,
  admit: signedByItsCoordinator,
  history: { tables: ["economy_price_latest", "economy_price_proposals"], write: writeProposals },
};
