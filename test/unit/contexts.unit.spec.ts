import { describe, expect, it } from "vitest";
import { loadStreamDeclarations } from "../../src/adapters/nats/streams.js";
import { commandHandlers } from "../../src/app/commandHandlers.js";
import { chainedEvents, chainedStreams, contexts, declaredStreams, reservedStreams, undeclaredSubject } from "../../src/domain/contexts.js";
import { parseSubject } from "../../src/domain/events/envelope.js";
import { ANCHOR_SUBJECT, CHAIN_SUBJECT, CHECKPOINT_SUBJECT, LEDGER_STREAM } from "../../src/domain/ledger/record.js";
import { projectors } from "../../src/projections/index.js";
import { schemaCatalog } from "../../src/schemas/catalog.js";

/**
 * The list of contexts against everything wired from it. Adding a context is a domain folder
 * with its descriptor, a projection and routes; these say what else is missing.
 */
describe("the list of contexts", () => {
  it("gives every context a stream declared in deploy/nats/streams for its subjects, and declares no stream it does not know", async () => {
    const declarations = await loadStreamDeclarations();
    for (const c of contexts) {
      const d = declarations.find((x) => x.name === c.stream);
      expect(d, `deploy/nats/streams/${c.stream}.json is missing for the ${c.name} context`).toBeDefined();
      expect(d!.subjects, `${c.stream} must hold the ${c.name} context's subjects`).toEqual([`ec.${c.name}.>`]);
    }
    expect(declarations.map((d) => d.name).sort(), "a declared stream that is neither a context's nor reserved").toEqual([...declaredStreams].sort());
    for (const r of reservedStreams) expect(declarations.find((d) => d.name === r.stream)!.subjects).toEqual([`ec.${r.name}.>`]);
  });

  it("chains every stream but the ledger's own into the ledger, and the chainer admits every chained event type", () => {
    expect([...chainedStreams].sort()).toEqual(declaredStreams.filter((s) => s !== LEDGER_STREAM).sort());
    expect(chainedStreams).not.toContain(LEDGER_STREAM);
    for (const c of contexts.filter((x) => x.chained)) {
      for (const e of c.events) expect(chainedEvents.get(e.type), `${e.type} of ${c.name} would sit outside the ledger`).toBe(e);
    }
    expect(contexts.filter((c) => !c.chained).map((c) => c.name)).toEqual(["ledger"]);
  });

  it("gives every event type of a context with aggregates a projector that reads its stream", () => {
    for (const c of contexts.filter((x) => x.aggregates.length > 0)) {
      for (const e of c.events) {
        const readers = projectors.filter((p) => p.streams.includes(c.stream) && p.registry.get(e.type) === e);
        expect(readers.length, `no projection reads ${e.type} (${c.stream})`).toBeGreaterThan(0);
      }
    }
  });

  it("publishes every event type of every context in the schema catalog", () => {
    const catalog = schemaCatalog();
    for (const c of contexts) for (const e of c.events) expect(catalog[`events/${e.type}.v${e.schemaVersion}`], `schemas/ lacks ${e.type}`).toBeDefined();
  });

  it("gives each event type to exactly one aggregate of its context, and each aggregate kind one name in the whole system", () => {
    const kinds = contexts.flatMap((c) => c.aggregates.map((a) => a.kind));
    expect(new Set(kinds).size).toBe(kinds.length);
    const types = contexts.flatMap((c) => c.events.map((e) => e.type));
    expect(new Set(types).size).toBe(types.length);
    for (const c of contexts.filter((x) => x.aggregates.length > 0)) {
      const owned = c.aggregates.flatMap((a) => a.events.map((e) => e.type));
      expect(owned.sort()).toEqual(c.events.map((e) => e.type).sort());
    }
  });

  it("spells each aggregate's subjects ec.<context>.<aggregate>.<id>, and the ledger's singletons without an id", () => {
    for (const c of contexts) {
      for (const a of c.aggregates) {
        const subject = a.subject("x-1");
        expect(parseSubject(subject)).toEqual({ context: c.name, aggregate: a.kind, id: "x-1" });
        expect(undeclaredSubject(subject)).toBeUndefined();
      }
    }
    for (const s of [CHAIN_SUBJECT, CHECKPOINT_SUBJECT, ANCHOR_SUBJECT]) expect(undeclaredSubject(s)).toBeUndefined();
    expect(undeclaredSubject("ec.tasks.t-1")).toMatch(/no single t-1|no aggregate kind|not ec/);
    expect(undeclaredSubject("ec.tasks.lease.x")).toMatch(/no aggregate kind lease/);
    expect(undeclaredSubject("ec.nowhere.task.x")).toMatch(/no context/);
    expect(undeclaredSubject("ec.ledger.chain.x")).toMatch(/no aggregate kind chain/);
  });

  it("builds one command handler per aggregate kind", () => {
    const handlers = commandHandlers({ store: {} as never, sealer: {} as never });
    expect(Object.keys(handlers).sort()).toEqual(contexts.flatMap((c) => c.aggregates.map((a) => a.kind)).sort());
    for (const h of Object.values(handlers)) expect(typeof h).toBe("function");
  });
});
