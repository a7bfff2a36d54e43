import { describe, expect, it } from "vitest";
import { eventIdFor, sealEvent } from "../../src/adapters/crypto/eventSigning.js";
import { checkCommit } from "../../src/adapters/events/commitCheck.js";
import { encodeCommit, type RawCommit } from "../../src/adapters/nats/eventStore.js";
import { creditEvents } from "../../src/domain/credits/events.js";
import type { EventEnvelope } from "../../src/domain/events/envelope.js";
import { newSigner } from "../support/events.js";

const signer = newSigner();
const subject = "ec.credits.account.alice";
const time = "2026-11-23T10:00:00.000Z";

function event(index: number, change: Partial<Omit<EventEnvelope, "signer" | "signature">> = {}): EventEnvelope {
  return sealEvent(signer, {
    id: eventIdFor("cmd-1", index),
    type: "credits.earned",
    subject,
    data: { amount: 1_000 + index, reason: "subtask" },
    time,
    schemaVersion: 1,
    ...change,
  });
}

const commitOf = (data: Uint8Array, storedUnder = subject): RawCommit => ({ stream: "EC_CREDITS", seq: 7, subject: storedUnder, data });
const commit = (events: readonly unknown[], storedUnder = subject) => commitOf(encodeCommit(events as EventEnvelope[]), storedUnder);
const rawText = (text: string) => commitOf(new TextEncoder().encode(text));

/** The reason a commit is refused; fails the test if it is admitted. */
function refusal(raw: RawCommit, opts?: { signaturesKnownGood?: boolean }) {
  const checked = checkCommit(raw, creditEvents, opts);
  if (checked.ok) throw new Error("expected the commit to be refused");
  return checked;
}

describe("admission of a stored commit", () => {
  it("admits a valid commit of two events, in order", () => {
    const events = [event(0), event(1, { type: "credits.held", data: { holdId: "h1", amount: 500, reason: "task" } })];
    expect(checkCommit(commit(events), creditEvents)).toEqual({ ok: true, events });
  });

  it("admits a signed event whose data carries a key its schema does not name, and keeps it as signed", () => {
    const withExtra = sealEvent(signer, {
      id: eventIdFor("extra", 0),
      type: "credits.earned",
      subject,
      data: { amount: 5, reason: "work", note: "a field from a later schema version" },
      time,
      schemaVersion: 1,
    });
    expect(checkCommit(commit([withExtra]), creditEvents)).toEqual({ ok: true, events: [withExtra] });
  });

  it("refuses bytes that are not JSON", () => {
    expect(refusal(rawText("[{not json")).reason).toMatch(/^not JSON/);
  });

  it("refuses bytes that are not UTF-8, rather than reading them as replacement characters", () => {
    // Signed over U+FFFD, stored with a lone 0xff where its UTF-8 bytes (ef bf bd) belong: a
    // lenient decoder would turn it back into U+FFFD and the signature would check out.
    const signedOverReplacement = event(0, { data: { amount: 1_000, reason: "sub\uFFFDtask" } });
    const bytes = [...encodeCommit([signedOverReplacement])];
    const at = bytes.findIndex((b, i) => b === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd);
    expect(at).toBeGreaterThan(0);
    bytes.splice(at, 3, 0xff);
    expect(refusal(commitOf(new Uint8Array(bytes))).reason).toMatch(/^not JSON/);
  });

  it("refuses an empty array", () => {
    expect(refusal(rawText("[]")).reason).toBe("not a non-empty array of events");
  });

  it.each([
    ["a single event not wrapped in an array", JSON.stringify(event(0))],
    ["null", "null"],
    ["a number", "42"],
  ])("refuses %s", (_what, text) => {
    expect(refusal(rawText(text)).reason).toBe("not a non-empty array of events");
  });

  it("refuses an event of an unknown type, naming the event", () => {
    const unknown = event(0, { type: "credits.gifted" });
    expect(refusal(commit([unknown]))).toEqual({ ok: false, reason: "unknown event type credits.gifted", eventId: unknown.id });
  });

  it("refuses an event at a schema version the registry does not know", () => {
    const future = event(0, { schemaVersion: 2 });
    const refused = refusal(commit([future]));
    expect(refused.reason).toMatch(/credits\.earned schema version 2 is not supported \(expected 1\)/);
    expect(refused.eventId).toBe(future.id);
  });

  it("refuses an event whose data breaks its schema, even when validly signed", () => {
    const negative = event(0, { data: { amount: -1, reason: "subtask" } });
    const refused = refusal(commit([negative]));
    expect(refused.reason).toMatch(/^credits\.earned data:/);
    expect(refused.reason).toContain("amount");
    expect(refused.eventId).toBe(negative.id);
  });

  it("refuses an event that is not an envelope", () => {
    expect(refusal(commit([{ id: "x", type: "credits.earned" }]))).toMatchObject({ ok: false, eventId: "x" });
    expect(refusal(commit([{ id: "x", type: "credits.earned" }])).reason).toMatch(/^envelope:/);
    expect(refusal(commit(["just a string"]))).toEqual({ ok: false, reason: expect.stringMatching(/^envelope:/) });
  });

  it("refuses an event stored under another aggregate's subject", () => {
    const forBob = event(0, { subject: "ec.credits.account.bob" });
    expect(refusal(commit([forBob]))).toEqual({
      ok: false,
      reason: "event is for ec.credits.account.bob but stored under ec.credits.account.alice",
      eventId: forBob.id,
    });
  });

  it("refuses an event whose signed content was changed after signing", () => {
    const tampered = { ...event(0), data: { amount: 9_999_999, reason: "subtask" } };
    const refused = refusal(commit([tampered]));
    expect(refused.reason.startsWith("bad signature")).toBe(true);
    expect(refused.reason).toContain(signer.publicKey);
    expect(refused.eventId).toBe(tampered.id);
  });

  it("refuses the whole commit when only its second event is bad, naming that event", () => {
    const second = { ...event(1), time: "2026-11-23T10:00:01.000Z" };
    const refused = refusal(commit([event(0), second]));
    expect(refused.reason.startsWith("bad signature")).toBe(true);
    expect(refused.eventId).toBe(second.id);
  });

  describe("when the signatures are known good", () => {
    const knownGood = { signaturesKnownGood: true };

    it("skips the signature check", () => {
      const tampered = { ...event(0), data: { amount: 9_999_999, reason: "subtask" } };
      expect(checkCommit(commit([tampered]), creditEvents, knownGood)).toEqual({ ok: true, events: [tampered] });
    });

    it("still refuses schema failures, unknown types and a wrong subject", () => {
      expect(refusal(commit([event(0, { data: { amount: -1, reason: "subtask" } })]), knownGood).reason).toMatch(/^credits\.earned data:/);
      expect(refusal(commit([event(0, { type: "credits.gifted" })]), knownGood).reason).toBe("unknown event type credits.gifted");
      expect(refusal(commit([event(0, { schemaVersion: 2 })]), knownGood).reason).toMatch(/schema version 2/);
      expect(refusal(commit([event(0)], "ec.credits.account.bob"), knownGood).reason).toMatch(/stored under ec\.credits\.account\.bob/);
      expect(refusal(rawText("[]"), knownGood).reason).toBe("not a non-empty array of events");
    });
  });
});
