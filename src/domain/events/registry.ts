import { z } from "zod";
import { EventEnvelope, type EventDraft } from "./envelope.js";

/** One event type's contract: its name, current schema version and the shape of its data. */
export interface EventSpec<T extends string = string, D extends z.ZodType<Record<string, unknown>> = z.ZodType<Record<string, unknown>>> {
  readonly type: T;
  readonly schemaVersion: number;
  readonly data: D;
}

export function eventSpec<T extends string, D extends z.ZodType<Record<string, unknown>>>(
  type: T,
  schemaVersion: number,
  data: D,
): EventSpec<T, D> {
  return { type, schemaVersion, data };
}

export type DraftOf<S> = S extends EventSpec<infer T, infer D> ? EventDraft<T, z.infer<D>> : never;

export type EventRegistry = ReadonlyMap<string, EventSpec>;

export function eventRegistry(...specs: EventSpec[]): EventRegistry {
  const map = new Map<string, EventSpec>();
  for (const spec of specs) {
    if (map.has(spec.type)) throw new Error(`event type ${spec.type} is declared twice`);
    map.set(spec.type, spec);
  }
  return map;
}

export type SchemaCheck = { ok: true; envelope: EventEnvelope } | { ok: false; reason: string };

/** Checks the envelope shape, that the type is known at that schema version, and its data. */
export function checkEventSchema(registry: EventRegistry, candidate: unknown): SchemaCheck {
  const envelope = EventEnvelope.safeParse(candidate);
  if (!envelope.success) return { ok: false, reason: `envelope: ${z.prettifyError(envelope.error)}` };
  const e = envelope.data;
  const spec = registry.get(e.type);
  if (!spec) return { ok: false, reason: `unknown event type ${e.type}` };
  if (e.schemaVersion !== spec.schemaVersion) {
    return { ok: false, reason: `${e.type} schema version ${e.schemaVersion} is not supported (expected ${spec.schemaVersion})` };
  }
  const data = spec.data.safeParse(e.data);
  if (!data.success) return { ok: false, reason: `${e.type} data: ${z.prettifyError(data.error)}` };
  // The event exactly as received: zod's output drops unknown keys, and the signature covers
  // the data as the signer wrote it, so a later schema version's optional field still verifies.
  return { ok: true, envelope: candidate as EventEnvelope };
}
