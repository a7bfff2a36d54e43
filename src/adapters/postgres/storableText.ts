/**
 * Postgres text cannot hold U+0000, and a lone UTF-16 surrogate has no UTF-8 form (pg would
 * silently write U+FFFD for it). Text columns of the read models are display and query copies:
 * the exact value of every field lives in the row's `state` (json keeps "\u0000" and "\ud800"
 * escapes as written) and in the signed event. So a text column gets NUL shown as U+2400
 * (SYMBOL FOR NULL) and a lone surrogate as U+FFFD, and storing it can never fail.
 */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function storableText(s: string): string;
export function storableText(s: string | null | undefined): string | null;
export function storableText(s: string | null | undefined): string | null {
  if (s === null || s === undefined) return null;
  return s.replace(UNSTORABLE, (c) => (c === "\0" ? "\u2400" : "\ufffd"));
}

/** Query parameters with every string made storable (JSON text is already escaped ASCII and passes unchanged). */
export function storableParams(params: readonly unknown[]): unknown[] {
  return params.map((p) => (typeof p === "string" ? storableText(p) : Array.isArray(p) ? p.map((v) => (typeof v === "string" ? storableText(v) : v)) : p));
}
