import { z } from "zod";
import type { CursorKey, Page } from "../projections/keyset.js";

/**
 * A list's page ends with the key of its last row (src/projections/keyset.ts), handed to the
 * client as an opaque cursor (`next`) that it passes back for the page after.
 */
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

/** The cursor of the page after this one (null: this was the last). */
export const encodeNext = (page: Page<unknown>): string | null => (page.next ? encodeCursor(page.next) : null);
