import { z } from "zod";

/**
 * Lists are paged by keyset: a page ends with the ordering key of its last row, handed to the
 * client as an opaque cursor (`next`); the next page starts after that key. Unlike an offset,
 * a row added meanwhile never shifts a page, so no row is served twice and none that stays
 * put is skipped. The key is a pair, (time or sequence, id), unique by its id.
 */
export type CursorKey = readonly [string, string];

const Key = z.tuple([z.string().min(1).max(40), z.string().min(1).max(200)]);

export const encodeCursor = (key: CursorKey): string => Buffer.from(JSON.stringify(key)).toString("base64url");

/** A cursor from a reply's `next`; anything else is a 400 naming the field. */
export const Cursor = z
  .string()
  .max(400)
  .transform((text, ctx) => {
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    } catch {
      decoded = undefined;
    }
    const key = Key.safeParse(decoded);
    if (key.success) return key.data as CursorKey;
    ctx.addIssue({ code: "custom", message: "not a cursor this list handed out (pass a reply's next as it was)" });
    return z.NEVER;
  });

export const PageLimit = (defaultLimit: number, max: number) => z.coerce.number().int().min(1).max(max).default(defaultLimit);

/**
 * A timestamp as cursor text, to the microsecond Postgres keeps (a JavaScript Date would lose
 * them, and the next page would repeat or skip rows within that millisecond).
 */
export const cursorTime = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** `rows` as queried with one more than `limit`: the page, and the cursor of the next one (null: this was the last). */
export function pageOf<R>(rows: readonly R[], limit: number, keyOf: (row: R) => CursorKey): { rows: R[]; next: string | null } {
  const page = rows.slice(0, limit);
  return { rows: page, next: rows.length > limit ? encodeCursor(keyOf(page.at(-1)!)) : null };
}
