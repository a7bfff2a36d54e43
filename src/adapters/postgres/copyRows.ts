import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { PoolClient } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { storableText } from "./storableText.js";

export type CopyValue = string | number | null;

// COPY's text format: backslash, tab, newline and carriage return are escaped, NULL is \N; text
// Postgres cannot hold at all (NUL, lone surrogates) is made storable first.
function field(v: CopyValue): string {
  if (v === null) return "\\N";
  if (typeof v === "number") return String(v);
  v = storableText(v);
  return /[\\\t\n\r]/.test(v) ? v.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r") : v;
}

/**
 * Bulk-inserts rows with COPY, several times faster than INSERT for large batches. COPY has no
 * ON CONFLICT: a duplicate key fails the statement (SQLSTATE 23505) and the transaction with it.
 */
export async function copyRows(db: PoolClient, table: string, columns: readonly string[], rows: readonly CopyValue[][]): Promise<void> {
  if (rows.length === 0) return;
  const CHUNK = 500;
  const chunks = function* () {
    for (let i = 0; i < rows.length; i += CHUNK) {
      let text = "";
      const end = Math.min(rows.length, i + CHUNK);
      for (let r = i; r < end; r++) {
        const row = rows[r]!;
        for (let c = 0; c < row.length; c++) text += (c === 0 ? "" : "\t") + field(row[c]!);
        text += "\n";
      }
      yield text;
    }
  };
  const sink = db.query(copyFrom(`COPY "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) FROM STDIN`));
  await pipeline(Readable.from(chunks()), sink);
}

export const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === "23505";
