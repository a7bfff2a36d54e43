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

/**
 * Calls `visit` with every string of `value` (keys included) and the path of the branch it is
 * on (valid during the call), depth first, until `visit` returns true. Iterative, keeping only
 * the current branch: a body nested a million levels deep must not overflow the stack, nor cost
 * a copy of its path at every level.
 */
function eachString(value: unknown, visit: (text: string, isKey: boolean, branch: readonly (string | number)[]) => boolean | void): void {
  const branch: (string | number)[] = [];
  const values: unknown[] = [value];
  const depths: number[] = [0];
  const keys: (string | number)[] = [""];
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop()!;
    const key = keys.pop()!;
    branch.length = depth;
    if (depth > 0) branch[depth - 1] = key;
    if (typeof v === "string") {
      if (visit(v, false, branch)) return;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) values.push(v[i]), depths.push(depth + 1), keys.push(i);
    } else if (v !== null && typeof v === "object") {
      const entries = Object.entries(v);
      for (const [k] of entries) if (visit(k, true, [...branch, k])) return;
      for (let i = entries.length - 1; i >= 0; i--) values.push(entries[i]![1]), depths.push(depth + 1), keys.push(entries[i]![0]);
    }
  }
}

/** Whether a string or key of `value` passes `test`: without the paths, several times faster than `eachString`. */
function anyString(value: unknown, test: (s: string) => boolean): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (test(v)) return true;
    } else if (Array.isArray(v)) for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    else if (v !== null && typeof v === "object") for (const [key, child] of Object.entries(v)) stack.push(child, key);
  }
  return false;
}

const holdsNul = (s: string) => s.includes("\u0000");

/** The paths of the strings and keys in `value` that hold a NUL, but for the strings at `data` paths. */
export function nulPaths(value: unknown, data: readonly PathPattern[] = []): ValuePath[] {
  if (!anyString(value, holdsNul)) return [];
  const found: ValuePath[] = [];
  eachString(value, (text, isKey, branch) => {
    if (!holdsNul(text)) return;
    if (!isKey && data.some((pattern) => matches(branch, pattern))) return;
    found.push([...branch]);
  });
  return found;
}

const wellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();
const illFormed = (s: string) => !wellFormed(s);

/**
 * `s` with each lone surrogate replaced by U+FFFD, as a UTF-8 encoder would write it: for text
 * this node did not receive but was answered (a model's), which could not be signed otherwise.
 */
export const asWellFormed = (s: string): string => (s as unknown as { toWellFormed(): string }).toWellFormed();

/** The path of the first string or key in `value` holding a lone surrogate, if one does. */
export function loneSurrogatePath(value: unknown): ValuePath | undefined {
  if (!anyString(value, illFormed)) return undefined;
  let found: ValuePath | undefined;
  eachString(value, (text, _isKey, branch) => {
    if (illFormed(text)) found = [...branch];
    return found !== undefined;
  });
  return found;
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
