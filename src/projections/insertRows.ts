import type { PoolClient } from "pg";
import { storableParams } from "../adapters/postgres/storableText.js";

/** A column and its Postgres type, as unnest needs it to type the array of its values. */
export type TypedColumn = readonly [name: string, type: string];

/**
 * Inserts many rows in one statement (one array per column through unnest), with what to do on
 * a conflict: "DO NOTHING" for a history keyed by event id, so a commit written twice adds
 * nothing. Text is made storable as in every read model (the exact value is in the event).
 */
export async function insertRows(db: PoolClient, table: string, columns: readonly TypedColumn[], rows: readonly (readonly unknown[])[], onConflict = "DO NOTHING"): Promise<void> {
  if (rows.length === 0) return;
  const arrays = columns.map((_, i) => rows.map((r) => r[i] ?? null));
  await db.query(
    `INSERT INTO ${table} (${columns.map(([name]) => name).join(", ")})
     SELECT * FROM unnest(${columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(", ")})
     ON CONFLICT ${onConflict}`,
    storableParams(arrays),
  );
}
