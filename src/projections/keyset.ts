import type pg from "pg";

/** Anything that runs a query: the pool, or one client of it (a transaction, a rebuild's session). */
export type Db = Pick<pg.Pool, "query">;

/**
 * Lists are paged by keyset: a page ends with the ordering key of its last row, and the next page
 * starts after that key. Unlike an offset, a row added meanwhile never shifts a page, so no row is
 * served twice and none that stays put is skipped. The key is a pair, (time or sequence, id),
 * unique by its id; the gateway hands it to clients as an opaque cursor.
 */
export type CursorKey = readonly [string, string];

export interface Page<T> {
  readonly items: T[];
  /** The key of the last item, to start the next page after; null: this was the last page. */
  readonly next: CursorKey | null;
}

/**
 * A timestamp column as a key part, exact to the microsecond Postgres keeps (a JavaScript Date
 * would lose them, and the next page would repeat or skip rows within that millisecond), and
 * the parameter holding such a part as a timestamp again.
 */
export const microsOf = (column: string) => `(extract(epoch from ${column}) * 1000000)::bigint::text`;
export const timeOfMicros = (param: string) => `('1970-01-01T00:00:00Z'::timestamptz + ${param}::bigint * interval '1 microsecond')`;

/** `rows` as queried with one more than `limit`: the page's items, and the key of the next page. */
export function pageOf<R, T>(rows: readonly R[], limit: number, keyOf: (row: R) => CursorKey, item: (row: R) => T): Page<T> {
  const page = rows.slice(0, limit);
  return { items: page.map(item), next: rows.length > limit ? keyOf(page.at(-1)!) : null };
}
