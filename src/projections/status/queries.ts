import type pg from "pg";

/** How many rows of each status a read model holds. */
export type CountsByStatus = Record<string, number>;

export interface ProjectionCheckpoint {
  readonly projection: string;
  readonly stream: string;
  /** The last stream sequence the projection applied. */
  readonly lastSeq: number;
}

export interface ReadModelCounts {
  readonly tasks: CountsByStatus;
  readonly subtasks: CountsByStatus;
  readonly agents: CountsByStatus;
  readonly checkpoints: readonly ProjectionCheckpoint[];
}

const byStatus = (rows: { status: string; n: string }[]): CountsByStatus => Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));

/**
 * What an operator asks of the read models at a glance: tasks, subtasks and agents by status
 * (the status indexes answer each count) and where every projection has read to. One
 * connection, one statement per table: a scrape holds the pool for four short reads.
 */
export async function readModelCounts(pool: pg.Pool): Promise<ReadModelCounts> {
  const db = await pool.connect();
  try {
    const count = async (table: "tasks" | "subtasks" | "agents") => byStatus((await db.query<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM ${table} GROUP BY status`)).rows);
    const tasks = await count("tasks");
    const subtasks = await count("subtasks");
    const agents = await count("agents");
    const checkpoints = await db.query<{ projection: string; stream: string; last_seq: string }>("SELECT projection, stream, last_seq FROM projection_checkpoints ORDER BY projection, stream");
    return { tasks, subtasks, agents, checkpoints: checkpoints.rows.map((r) => ({ projection: r.projection, stream: r.stream, lastSeq: Number(r.last_seq) })) };
  } finally {
    db.release();
  }
}

/** What the load multiplier reads: subtasks waiting for a worker, and the approved agents that could take them. */
export async function queuePressureInputs(db: Pick<pg.Pool, "query">): Promise<{ queued: number; agents: number }> {
  const r = await db.query<{ queued: string; agents: string }>(
    "SELECT (SELECT count(*) FROM subtasks WHERE status = 'queued') AS queued, (SELECT count(*) FROM agents WHERE status = 'approved') AS agents",
  );
  return { queued: Number(r.rows[0]?.queued ?? 0), agents: Number(r.rows[0]?.agents ?? 0) };
}
