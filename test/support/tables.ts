import type pg from "pg";

/** Every row of the given tables, in primary-key order: for row-for-row comparisons. */
export async function snapshotTables(pool: pg.Pool, tables: readonly string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of tables) {
    const pk = await pool.query<{ col: string }>(
      `SELECT a.attname AS col FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
      [t],
    );
    const order = pk.rows.map((r) => `"${r.col}"`).join(", ");
    out[t] = (await pool.query(`SELECT * FROM "${t}" ORDER BY ${order}`)).rows;
  }
  return out;
}
