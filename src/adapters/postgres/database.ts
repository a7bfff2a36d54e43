import pg from "pg";

/** bigint columns hold millicredits and sequences, always below 2^53: read them as numbers. */
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/**
 * A pool whose connections may die (the server restarts or is killed, an operator ends them):
 * pg then emits "error" on the pool for an idle client, and on the client itself for one that
 * is checked out, either of which would end the process unheard. The pool drops a broken client
 * and opens another on the next query, and a query in flight fails as it should; the error
 * itself is only reported.
 */
export function createPool(databaseUrl: string, max = 10, onConnectionError: (err: Error) => void = () => undefined): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  pool.on("error", onConnectionError);
  pool.on("connect", (client) => client.on("error", onConnectionError));
  return pool;
}

/** Creates the database named in `databaseUrl` when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) throw new Error(`DATABASE_URL ${databaseUrl} names no database`);
  const admin = new URL(databaseUrl);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  // A failure mid-way rejects the query below; the event alone would end the process.
  client.on("error", () => undefined);
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (exists.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((err: { code?: string }) => {
        if (err.code !== "42P04") throw err; // created by another process meanwhile
      });
    }
  } finally {
    await client.end();
  }
}
