import { z } from "zod";

/**
 * Lists are paged by keyset: a page ends with the ordering key of its last row, handed to the
 * client as an opaque cursor (`next`); the next page starts after that key. Unlike an offset,
 * a row added meanwhile never shifts a page, so no row is served twice and none that stays
 * put is skipped. The key is a pair, (time or sequence, id), unique by its id.
 */
export type CursorKey = readonly [string, string];

export const encodeCursor = (key: CursorKey): string => Buffer.from(JSON.stringify(key)).toString("base64url");

/** A timestamp's part of a key: microseconds since 1970 (at most 16 digits: before the year 2286). */
export const Micros = z.string().regex(/^\d{1,16}$/);
/** A stream sequence's part of a key. */
export const Seq = z.string().regex(/^\d{1,18}$/);

/**
 * A cursor as a list handed it out, its parts checked as that list's key (a cursor of another
 * list, or one made up, is a 400 naming the field rather than a query the database refuses).
 */
export function Cursor(first: z.ZodType<string>, second: z.ZodType<string>) {
  const Key = z.tuple([first, second]);
  return z
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
}

export const PageLimit = (defaultLimit: number, max: number) => z.coerce.number().int().min(1).max(max).default(defaultLimit);

/**
 * A timestamp column as a key part, exact to the microsecond Postgres keeps (a JavaScript Date
 * would lose them, and the next page would repeat or skip rows within that millisecond), and
 * the parameter holding such a part as a timestamp again.
 */
export const microsOf = (column: string) => `(extract(epoch from ${column}) * 1000000)::bigint::text`;
export const timeOfMicros = (param: string) => `('1970-01-01T00:00:00Z'::timestamptz + ${param}::bigint * interval '1 microsecond')`;

/** `rows` as queried with one more than `limit`: the page, and the cursor of the next one (null: this was the last). */
export function pageOf<R>(rows: readonly R[], limit: number, keyOf: (row: R) => CursorKey): { rows: R[]; next: string | null } {
  const page = rows.slice(0, limit);
  return { rows: page, next: rows.length > limit ? encodeCursor(keyOf(page.at(-1)!)) : null };
}
