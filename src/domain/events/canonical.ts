import canonicalize from "canonicalize";
import type { UnsignedEvent } from "./envelope.js";

/**
 * RFC 8785 (JCS) canonical JSON: the one canonical form of the project, on every thread. The
 * exact bytes an event signature covers and an event hash digests are built with it.
 *
 * The usual case is one native call: JSON.stringify of the value with every object's keys in
 * sorted order (by UTF-16 code units, as RFC 8785 sorts them; JSON.stringify writes strings
 * and numbers as RFC 8785 does), where only objects whose keys are out of order are copied.
 * Whatever that shortcut cannot order or would write otherwise (keys that are array indices,
 * toJSON, objects that are not plain, numbers that are not finite, strings with a lone
 * surrogate, values that are not JSON) sends the whole value to the canonicalize package, the
 * reference implementation of RFC 8785, which writes it piece by piece and refuses what
 * RFC 8785 refuses (test/unit/canonical.unit.spec.ts holds the shortcut to it).
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(sortedKeys(value));
  } catch (err) {
    if (err !== UNORDERABLE) throw err;
    text = canonicalize(value);
  }
  if (text === undefined) throw new TypeError("value is not serializable as JSON");
  return text;
}

/** The envelope fields a signature covers, in one place for every thread that signs. */
export const SIGNED_FIELDS = ["id", "type", "subject", "data", "signer", "time", "schemaVersion"] as const satisfies readonly (keyof UnsignedEvent)[];

/** The same, in canonical order: the covered object is built with its keys in order, so it is not copied to be sorted. */
const SORTED_SIGNED_FIELDS = [...SIGNED_FIELDS].sort();

/**
 * The exact bytes an event signature covers: canonical JSON of the envelope without its
 * signature. Any extra field a relay might add is excluded, so only the listed fields are
 * signed and verified. Throws for an event that has no canonical form (a lone surrogate).
 */
export function signingText(event: UnsignedEvent): string {
  const covered: Record<string, unknown> = {};
  for (const field of SORTED_SIGNED_FIELDS) covered[field] = event[field];
  return canonicalJson(covered);
}

const utf8 = new TextEncoder();

export function signingBytes(event: UnsignedEvent): Uint8Array {
  return utf8.encode(signingText(event));
}

/** Thrown inside sortedKeys() for a value the native shortcut cannot write canonically. */
const UNORDERABLE = new Error("not orderable for JSON.stringify");

// Keys that are array indices come first in any object, in numeric order: no key order can be imposed on them.
const INDEX_KEY = /^(?:0|[1-9][0-9]{0,9})$/;

/** The value with every object's keys in sorted order, sharing what is in order already. */
function sortedKeys(v: unknown): unknown {
  switch (typeof v) {
    case "string":
      if (!v.isWellFormed()) throw UNORDERABLE;
      return v;
    case "number":
      if (!Number.isFinite(v)) throw UNORDERABLE;
      return v;
    case "boolean":
    case "undefined":
      return v;
    case "object":
      break;
    default:
      throw UNORDERABLE;
  }
  if (v === null) return v;
  if (typeof (v as { toJSON?: unknown }).toJSON === "function") throw UNORDERABLE;
  if (Array.isArray(v)) {
    let out: unknown[] = v;
    for (let i = 0; i < v.length; i++) {
      const c = sortedKeys(v[i]);
      if (c !== v[i]) (out === v ? (out = v.slice()) : out)[i] = c;
    }
    return out;
  }
  // Not a plain object (a Date, a boxed primitive): JSON.stringify would not write it as its keys.
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw UNORDERABLE;
  const o = v as Record<string, unknown>;
  const names = Object.keys(o);
  const first = names[0];
  if (first !== undefined && INDEX_KEY.test(first) && Number(first) < 4294967295) throw UNORDERABLE;
  let inOrder = true;
  for (let i = 0; i < names.length; i++) {
    if (!names[i]!.isWellFormed()) throw UNORDERABLE;
    if (i > 0 && inOrder) inOrder = names[i - 1]! < names[i]!;
  }
  if (!inOrder) names.sort();
  // A null prototype: a key "__proto__" (JSON.parse makes it an own property) stays a key.
  let out: Record<string, unknown> = inOrder ? o : Object.create(null);
  for (const name of names) {
    const c = sortedKeys(o[name]);
    if (out === o && c !== o[name]) {
      out = Object.create(null);
      for (const n of names) out[n] = o[n];
    }
    if (out !== o) out[name] = c;
  }
  return out;
}
