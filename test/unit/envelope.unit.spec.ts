import { describe, expect, it } from "vitest";
import { sealEvent } from "../../src/adapters/crypto/eventSigning.js";
import { creditEvents } from "../../src/domain/credits/events.js";
import { aggregateIdOf, EventEnvelope, parseSubject, subjectOf } from "../../src/domain/events/envelope.js";
import { checkEventSchema } from "../../src/domain/events/registry.js";
import { newSigner } from "../support/events.js";

const valid: EventEnvelope = sealEvent(newSigner(), {
  id: "0b5e1d2c-3f4a-8b6c-9d7e-1f2a3b4c5d6e",
  type: "credits.earned",
  subject: "ec.credits.account.alice",
  data: { amount: 1_000, reason: "subtask" },
  time: "2026-11-23T10:00:00.000Z",
  schemaVersion: 1,
});

/** The paths of the fields the envelope schema refuses in `candidate`. */
function refusedFields(candidate: unknown) {
  const parsed = EventEnvelope.safeParse(candidate);
  expect(parsed.success, `expected ${JSON.stringify(candidate)} to be refused`).toBe(false);
  return [...new Set(parsed.error?.issues.map((i) => i.path.join(".")))];
}

describe("event envelope schema", () => {
  it("accepts a sealed event", () => {
    expect(EventEnvelope.safeParse(valid).success).toBe(true);
  });

  it.each(["ec.credits.account.alice", "ec.tasks.subtask.T-1_a", `ec.credits.account.${"a".repeat(128)}`, "ec.ledger.chain", "ec.ledger.checkpoints"])(
    "accepts the subject %s",
    (subject) => {
      expect(EventEnvelope.safeParse({ ...valid, subject }).success).toBe(true);
    },
  );

  it.each([
    ["no aggregate", "ec.credits"],
    ["an empty aggregate id", "ec.credits.account."],
    ["a missing ec prefix", "credits.account.alice"],
    ["another prefix", "xx.credits.account.alice"],
    ["an upper-case context", "ec.Credits.account.alice"],
    ["an aggregate kind that is not a word", "ec.credits.acc-ount.alice"],
    ["the old format's id in the aggregate's place", "ec.tasks.0b5e1d2c-3f4a-8b6c-9d7e-1f2a3b4c5d6e"],
    ["a dotted aggregate id", "ec.credits.account.alice.b"],
    ["a wildcard", "ec.credits.account.*"],
    ["a space", "ec.credits.account.al ice"],
    ["an aggregate id of 129 chars", `ec.credits.account.${"a".repeat(129)}`],
  ])("refuses a subject with %s", (_what, subject) => {
    expect(refusedFields({ ...valid, subject })).toEqual(["subject"]);
  });

  it("names a subject's context, aggregate and id, and builds it back", () => {
    expect(parseSubject("ec.tasks.subtask.t1-0")).toEqual({ context: "tasks", aggregate: "subtask", id: "t1-0" });
    expect(parseSubject("ec.ledger.chain")).toEqual({ context: "ledger", aggregate: "chain" });
    expect(parseSubject("ec.tasks.t1-0")).toBeUndefined();
    expect(subjectOf("credits", "account", "alice")).toBe("ec.credits.account.alice");
    expect(aggregateIdOf("ec.credits.account.alice")).toBe("alice");
  });

  it.each(["credits.earned", "credits.earnedLate", "tasks.subtask.assigned"])("accepts the type %s", (type) => {
    expect(EventEnvelope.safeParse({ ...valid, type }).success).toBe(true);
  });

  it.each(["credits", "Credits.earned", "credits.Earned", "credits.earned_x", "credits..earned", "credits.earned.", "credits.1earned", ""])(
    "refuses the type %j",
    (type) => {
      expect(refusedFields({ ...valid, type })).toEqual(["type"]);
    },
  );

  it.each([
    ["one char short", (k: string) => k.slice(1)],
    ["one char long", (k: string) => `${k}A`],
    ["padded", (k: string) => `${k.slice(1)}=`],
    ["in standard base64", (k: string) => `+${k.slice(1)}`],
  ])("refuses a signer key %s", (_what, bend) => {
    expect(refusedFields({ ...valid, signer: bend(valid.signer) })).toEqual(["signer"]);
  });

  it("refuses a signature that is not 86 base64url chars", () => {
    expect(refusedFields({ ...valid, signature: valid.signature.slice(1) })).toEqual(["signature"]);
    expect(refusedFields({ ...valid, signature: `${valid.signature}A` })).toEqual(["signature"]);
    expect(refusedFields({ ...valid, signature: undefined })).toEqual(["signature"]);
  });

  it.each(["2026-11-23T10:00:00Z", "2026-11-23T10:00:00.123456Z"])("accepts the UTC time %s", (time) => {
    expect(EventEnvelope.safeParse({ ...valid, time }).success).toBe(true);
  });

  it.each(["2026-11-23T12:00:00+02:00", "2026-11-23T10:00:00", "2026-11-23 10:00:00Z", "2026-11-23", "yesterday", 1763892000000])(
    "refuses the time %j",
    (time) => {
      expect(refusedFields({ ...valid, time })).toEqual(["time"]);
    },
  );

  it.each([0, -1, 1.5, "1"])("refuses schemaVersion %j", (schemaVersion) => {
    expect(refusedFields({ ...valid, schemaVersion })).toEqual(["schemaVersion"]);
  });

  it("refuses an id that is not a UUID", () => {
    expect(refusedFields({ ...valid, id: "event-1" })).toEqual(["id"]);
  });

  it("refuses data that is not an object", () => {
    expect(refusedFields({ ...valid, data: "1000" })).toEqual(["data"]);
    expect(refusedFields({ ...valid, data: null })).toEqual(["data"]);
  });
});

describe("event schema check against the registry", () => {
  it("admits a known event and returns its envelope", () => {
    expect(checkEventSchema(creditEvents, valid)).toEqual({ ok: true, envelope: valid });
  });

  it("names the envelope field that is wrong", () => {
    const checked = checkEventSchema(creditEvents, { ...valid, subject: "credits.alice" });
    expect(checked.ok).toBe(false);
    if (!checked.ok) {
      expect(checked.reason).toMatch(/^envelope:/);
      expect(checked.reason).toContain("subject");
    }
  });

  it("refuses an unknown type", () => {
    expect(checkEventSchema(creditEvents, { ...valid, type: "credits.gifted" })).toEqual({ ok: false, reason: "unknown event type credits.gifted" });
  });

  it("refuses a schema version other than the registered one", () => {
    expect(checkEventSchema(creditEvents, { ...valid, schemaVersion: 2 })).toEqual({
      ok: false,
      reason: "credits.earned schema version 2 is not supported (expected 1)",
    });
  });

  it("names the data field that breaks the type's schema", () => {
    const checked = checkEventSchema(creditEvents, { ...valid, data: { amount: 0, reason: "subtask" } });
    expect(checked.ok).toBe(false);
    if (!checked.ok) {
      expect(checked.reason).toMatch(/^credits\.earned data:/);
      expect(checked.reason).toContain("amount");
      expect(checked.reason).not.toContain("reason");
    }
  });

  it("checks data against the schema of the event's own type", () => {
    const heldData = { holdId: "h1", amount: 5, reason: "task" };
    expect(checkEventSchema(creditEvents, { ...valid, type: "credits.held", data: heldData }).ok).toBe(true);
    expect(checkEventSchema(creditEvents, { ...valid, type: "credits.released", data: { amount: 5 } }).ok).toBe(false);
  });
});
