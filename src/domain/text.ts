import { z } from "zod";

/**
 * Text is what a person or a client typed: ids, names, prompts, reasons, a model's name. Data is
 * what a program produced: its output, its stderr and the code that ran. No one means a NUL in
 * text (and Postgres cannot store one in text or jsonb), so text with a NUL is refused; data is
 * kept exactly as it came, NULs included, and stored so that it survives.
 *
 * Neither may hold a lone surrogate: it has no UTF-8 form, so it can be neither signed (RFC 8785
 * refuses it) nor stored.
 */

/** Where a string sits in a value: the keys and array indexes leading to it. */
export type ValuePath = readonly (string | number)[];

/** A path where "*" stands for any one key or array index, e.g. ["history", "*", "code"]. */
export type PathPattern = readonly string[];

/** A JSON Pointer with "*" segments (how routes declare their data) as a PathPattern. */
export function pathPattern(pointer: string): PathPattern {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new Error(`a data path is a JSON Pointer, "" or starting with "/": ${pointer}`);
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

const matches = (path: ValuePath, pattern: PathPattern) =>
  path.length === pattern.length && pattern.every((p, i) => p === "*" || p === String(path[i]));

/** A path as a chain of links to the parent: a million levels deep costs a million links, not their square. */
interface Link {
  readonly parent: Link | undefined;
  readonly key: string | number;
}
const pathOf = (link: Link | undefined): ValuePath => {
  const path: (string | number)[] = [];
  for (let l = link; l; l = l.parent) path.push(l.key);
  return path.reverse();
};

/**
 * Every string of `value` (keys included) and where it is, depth first. Iterative: a body
 * nested a million levels deep must not overflow the stack.
 */
function* strings(value: unknown): Generator<{ at: Link | undefined; text: string; isKey: boolean }> {
  const stack: { value: unknown; at: Link | undefined }[] = [{ value, at: undefined }];
  while (stack.length > 0) {
    const { value: v, at } = stack.pop()!;
    if (typeof v === "string") yield { at, text: v, isKey: false };
    else if (Array.isArray(v)) for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], at: { parent: at, key: i } });
    else if (v !== null && typeof v === "object") {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const link = { parent: at, key };
        yield { at: link, text: key, isKey: true };
        stack.push({ value: child, at: link });
      }
    }
  }
}

/** The paths of the strings and keys in `value` that hold a NUL, but for the strings at `data` paths. */
export function nulPaths(value: unknown, data: readonly PathPattern[] = []): ValuePath[] {
  const found: ValuePath[] = [];
  for (const s of strings(value)) {
    if (!s.text.includes("\u0000")) continue;
    const path = pathOf(s.at);
    if (!s.isKey && data.some((pattern) => matches(path, pattern))) continue;
    found.push(path);
  }
  return found;
}

const wellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * `s` with each lone surrogate replaced by U+FFFD, as a UTF-8 encoder would write it: for text
 * this node did not receive but was answered (a model's), which could not be signed otherwise.
 */
export const asWellFormed = (s: string): string => (s as unknown as { toWellFormed(): string }).toWellFormed();

/** The path of the first string or key in `value` holding a lone surrogate, if one does. */
export function loneSurrogatePath(value: unknown): ValuePath | undefined {
  for (const s of strings(value)) if (!wellFormed(s.text)) return pathOf(s.at);
  return undefined;
}

export const NUL_REFUSED = "contains a NUL character";

/**
 * `schema`, refusing a NUL in every string and key of what it parses, but for the strings at
 * the `data` paths: one issue at each such string's path. The one rule for every field of every
 * input, so that a field added later is text (refused) unless it is declared data.
 */
export function withoutNul<S extends z.ZodType>(schema: S, data: readonly PathPattern[] = []): S {
  return schema.superRefine((value, ctx) => {
    for (const path of nulPaths(value, data)) ctx.addIssue({ code: "custom", path: [...path], message: NUL_REFUSED });
  }) as S;
}
