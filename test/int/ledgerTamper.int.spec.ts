import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealEvent } from "../../src/adapters/crypto/eventSigning.js";
import { auditLedger, type LedgerLocation } from "../../src/adapters/ledger/audit.js";
import { commitCheckerPool, type CommitChecker } from "../../src/adapters/ledger/commitChecker.js";
import { connectNats } from "../../src/adapters/nats/connection.js";
import { createEventStore, type EventStore } from "../../src/adapters/nats/eventStore.js";
import { NatsServerProcess } from "../../src/adapters/nats/natsServerProcess.js";
import { applyStreams } from "../../src/adapters/nats/streams.js";
import { packageRoot } from "../../src/adapters/packageRoot.js";
import type { EventEnvelope } from "../../src/domain/events/envelope.js";
import { eventHash, recordOf } from "../../src/domain/ledger/record.js";
import { creditEarned, newSigner } from "../support/events.js";
import { cli } from "../support/cli.js";
import { copyLedger, readLedgerMessages, startLedgerWriter, type LedgerMessage, type LedgerWriter } from "../support/ledger.js";
import { startTestNats, type TestNats } from "../support/nats.js";

const RECORDS = 60;
/** The record every case tampers with (or next to). */
const K = 23;

let nats: TestNats;
let checker: CommitChecker;
let writer: LedgerWriter;
let store: EventStore;
let tamperer: NatsConnection;
let messages: LedgerMessage[];
let copies = 0;

beforeAll(async () => {
  nats = await startTestNats();
  checker = commitCheckerPool(2);
  writer = await startLedgerWriter((name) => nats.connect(name), { checkpointEvery: 10 });
  await writer.write(RECORDS);
  await writer.chainer.checkpoint();
  await writer.stop();
  store = await createEventStore(await nats.connect("auditor"));
  tamperer = await nats.connect("tamperer");
  messages = await readLedgerMessages(store);
}, 60_000);
afterAll(async () => {
  await checker?.close();
  await nats?.close();
});

const trusted = () => new Set([writer.coordinator.publicKey]);
const audit = (ledger: LedgerLocation) => auditLedger({ store, checker, ledger, trustedKeys: trusted() });
const copy = (msgs: readonly LedgerMessage[]) => copyLedger(tamperer, `t${++copies}`, msgs);

/*
 * The chainer puts the records of source commits that arrive together in one message, so a record
 * is found by its message and its place in it. Edits give a new message list; what the audit must
 * name is then read off that list: the record at a position, and the sequence of its message.
 */
const withEvents = (m: LedgerMessage, events: EventEnvelope[]): LedgerMessage => ({ kind: m.kind, text: JSON.stringify(events), events });
function locate(list: readonly LedgerMessage[], position: number): { message: number; event: number; record: EventEnvelope } {
  let n = 0;
  for (const [message, m] of list.entries()) {
    if (m.kind !== "chain") continue;
    for (const [event, record] of m.events.entries()) if (n++ === position) return { message, event, record };
  }
  throw new Error(`no record at position ${position}`);
}
const recordAt = (position: number) => locate(messages, position).record;
/** What the audit of `list` must name at `position`: that record, in that message. */
function named(list: readonly LedgerMessage[], position: number) {
  const { message, record } = locate(list, position);
  return { kind: "record", position, seq: message + 1, recordId: record.id };
}
/** `messages` with the events of message `at` changed by `edit` (a message left empty is dropped). */
function editMessage(at: number, edit: (events: EventEnvelope[]) => EventEnvelope[]): LedgerMessage[] {
  return messages.flatMap((m, i) => {
    if (i !== at) return [m];
    const events = edit([...m.events]);
    return events.length > 0 ? [withEvents(m, events)] : [];
  });
}
const replaceRecord = (position: number, by: EventEnvelope[]) => {
  const { message, event } = locate(messages, position);
  return editMessage(message, (events) => (events.splice(event, 1, ...by), events));
};
/** Changes one character of the text of the message holding record `position`, `offset` characters after `marker`. */
function oneByte(position: number, marker: string, offset: number, to?: string): LedgerMessage[] {
  const { message } = locate(messages, position);
  const m = messages[message]!;
  const p = m.text.indexOf(marker) + marker.length + offset;
  if (m.text.indexOf(marker) < 0) throw new Error(`${marker} is not in message ${message}`);
  const ch = m.text[p]!;
  return messages.map((x, i) => (i === message ? { ...m, text: m.text.slice(0, p) + (to ?? (ch === "0" ? "1" : "0")) + m.text.slice(p + 1) } : x));
}

describe("tampering with a copy of the ledger is caught at the exact record", () => {
  it("passes an untouched copy (the control)", async () => {
    const result = await audit(await copy(messages));
    expect(result.issue).toBeUndefined();
    expect(result).toMatchObject({ ok: true, records: RECORDS, checkpoints: messages.filter((m) => m.kind === "checkpoints").length });
    expect(result.latestCheckpoint).toMatchObject({ size: RECORDS, headHash: result.headHash, signer: writer.coordinator.publicKey });
  });

  it("names the record with one byte changed inside its signed data (still valid JSON): bad signature", async () => {
    const changed = oneByte(K, `"index":${K},"prevHash":"`, 5);
    expect(() => changed.map((m) => JSON.parse(m.text) as unknown)).not.toThrow();
    const { issue } = await audit(await copy(changed));
    expect(issue).toEqual({ ...named(messages, K), reason: expect.stringMatching(/^bad signature/) });
  });

  it("names the message with one byte changed so that it is no longer JSON, by its first record", async () => {
    const changed = oneByte(K, `"data":{"index":${K},`, -1, "[");
    const { message } = locate(messages, K);
    expect(() => JSON.parse(changed[message]!.text) as unknown).toThrow();
    // Nothing in the message can be believed: the audit names it where it starts.
    const first = messages.slice(0, message).reduce((n, m) => n + (m.kind === "chain" ? m.events.length : 0), 0);
    const { issue } = await audit(await copy(changed));
    expect(issue).toEqual({ ...named(messages, first), reason: expect.stringMatching(/not a JSON array of events/) });
  });

  it("names the record after a dropped one: its index is not the one due", async () => {
    const dropped = replaceRecord(K, []);
    const { issue } = await audit(await copy(dropped));
    // The next record now sits where the dropped one was (a checkpoint naming the dropped record waits for it, so it is not named first).
    expect(issue).toEqual({ ...named(dropped, K), recordId: recordAt(K + 1).id, reason: expect.stringMatching(new RegExp(`^index ${K + 1} where ${K} was due`)) });
  });

  it("names the first of two swapped records", async () => {
    const [a, b] = [locate(messages, K), locate(messages, K + 1)];
    const swapped = a.message === b.message
      ? editMessage(a.message, (events) => ([events[a.event], events[b.event]] = [b.record, a.record], events))
      : messages.map((m, i) => (i === a.message ? withEvents(m, m.events.map((e, j) => (j === a.event ? b.record : e))) : i === b.message ? withEvents(m, m.events.map((e, j) => (j === b.event ? a.record : e))) : m));
    const { issue } = await audit(await copy(swapped));
    expect(issue).toEqual({ ...named(swapped, K), recordId: recordAt(K + 1).id, reason: expect.stringMatching(new RegExp(`^index ${K + 1} where ${K} was due`)) });
  });

  it("names a forged record inserted with a valid signature by a key that is not trusted", async () => {
    const real = recordAt(K);
    const forged = sealEvent(newSigner(), { ...real, id: crypto.randomUUID() });
    const inserted = replaceRecord(K, [forged, real]);
    const { issue } = await audit(await copy(inserted));
    expect(issue).toEqual({ ...named(inserted, K), recordId: forged.id, reason: expect.stringMatching(/^signed by an unknown key/) });
  });

  it("names a record re-signed by the trusted key with its link changed: broken link", async () => {
    const real = recordAt(K);
    const relinked = replaceRecord(K, [sealEvent(writer.coordinator, { ...real, data: { ...real.data, prevHash: "ab".repeat(32) } })]);
    const { issue } = await audit(await copy(relinked));
    expect(issue).toEqual({ ...named(messages, K), reason: expect.stringMatching(/^broken link: prevHash abab/) });
  });

  it("names a record re-signed by the trusted key with its content changed: it no longer matches its source event", async () => {
    const real = recordAt(K);
    const changed = replaceRecord(K, [sealEvent(writer.coordinator, { ...real, data: { ...real.data, actor: newSigner().publicKey } })]);
    const { issue } = await audit(await copy(changed));
    expect(issue).toEqual({ ...named(messages, K), reason: expect.stringMatching(/^does not match its source event .*: actor differs/) });
  });

  it("when a record is changed and re-signed by the trusted key while staying true to its source, what signed its old hash names it", async () => {
    const real = recordAt(K);
    const resigned = sealEvent(writer.coordinator, { ...real, time: new Date(Date.parse(real.time) + 1).toISOString() });
    const { issue } = await audit(await copy(replaceRecord(K, [resigned])));
    // The record alone is sound; the next thing holding its old hash is not: the record after it
    // (its link), or a checkpoint of exactly K + 1 records written right after it (its head hash).
    const { message, event } = locate(messages, K);
    const next = messages[message + 1];
    const checkpointRightAfter = event === messages[message]!.events.length - 1 && next?.kind === "checkpoints" && (next.events[0]!.data as { size: number }).size === K + 1;
    const why = `${eventHash(real)} is not the hash of record ${K} (${eventHash(resigned)})`;
    if (checkpointRightAfter) {
      const position = messages.slice(0, message + 1).filter((m) => m.kind === "checkpoints").length;
      expect(issue).toEqual({ kind: "checkpoint", position, seq: message + 2, recordId: next.events[0]!.id, reason: `head hash ${why}` });
    } else {
      expect(issue).toEqual({ ...named(messages, K + 1), reason: `broken link: prevHash ${why}` });
    }
  });

  it("names a checkpoint with a wrong Merkle root, re-signed by the trusted key, as the checkpoint; and one changed without re-signing", async () => {
    const checkpoints = messages.flatMap((m, j) => (m.kind === "checkpoints" ? [j] : []));
    const j = checkpoints[2]!;
    const real = messages[j]!.events[0]!;
    const wrongRoot = sealEvent(writer.coordinator, { ...real, data: { ...real.data, root: "cd".repeat(32) } });
    const resigned = await audit(await copy(messages.map((m, i) => (i === j ? withEvents(m, [wrongRoot]) : m))));
    expect(resigned.issue).toEqual({
      kind: "checkpoint",
      position: 2,
      seq: j + 1,
      recordId: real.id,
      reason: expect.stringMatching(new RegExp(`^Merkle root cdcd\\w+ is not the root of the first ${(real.data as { size: number }).size} records`)),
    });
    expect(resigned.checkpoints).toBe(2);
    const m = messages[j]!;
    const at = m.text.indexOf('"root":"') + 8;
    const unsigned = await audit(await copy(messages.map((x, i) => (i === j ? { ...m, text: m.text.slice(0, at) + (m.text[at] === "0" ? "1" : "0") + m.text.slice(at + 1) } : x))));
    expect(unsigned.issue).toMatchObject({ kind: "checkpoint", position: 2, seq: j + 1, recordId: real.id, reason: expect.stringMatching(/^bad signature/) });
  });

  it("names a record, trusted and well linked, whose source event carries a forged signature", async () => {
    // A credit event whose signature is not its signer's, stored in the source stream itself.
    const forgedSource = { ...creditEarned(newSigner(), "ec.credits.account.forged", 1_000_000), signer: newSigner().publicKey };
    const ack = await jetstream(tamperer).publish("ec.credits.account.forged", new TextEncoder().encode(JSON.stringify([forgedSource])));
    const last = locate(messages, RECORDS - 1).record;
    const record = sealEvent(writer.coordinator, {
      id: crypto.randomUUID(),
      type: "ledger.recorded",
      subject: "ec.ledger.chain",
      data: recordOf(forgedSource, { stream: "EC_CREDITS", seq: ack.seq }, RECORDS, eventHash(last)),
      time: new Date().toISOString(),
      schemaVersion: 1,
    });
    const extended = [...messages, { kind: "chain" as const, text: JSON.stringify([record]), events: [record] }];
    const { issue } = await audit(await copy(extended));
    expect(issue).toEqual({ ...named(extended, RECORDS), reason: `its source event ${forgedSource.id} (EC_CREDITS sequence ${ack.seq}) has a bad signature` });
  });

  it("names a source event a trusted chainer skipped, re-linking and re-signing every record after it, once the ledger has moved past it", async () => {
    const records = messages.filter((m) => m.kind === "chain").flatMap((m) => m.events);
    const skipped = records[K]!;
    let prev = eventHash(records[K - 1]!);
    const rechained = records.slice(K + 1).map((r, i) => {
      const data = r.data as { index: number; prevHash: string };
      const record = sealEvent(writer.coordinator, { ...r, data: { ...data, index: K + i, prevHash: prev } });
      prev = eventHash(record);
      return record;
    });
    const chain = [...records.slice(0, K), ...rechained].map((r) => ({ kind: "chain" as const, text: JSON.stringify([r]), events: [r] }));
    const ledger = await copy(chain);
    const source = (skipped.data as { source: { stream: string; seq: number; eventId: string } }).source;

    // Within the grace the event may still be on its way: it is counted as not chained yet.
    const recent = await audit(ledger);
    expect(recent).toMatchObject({ ok: true, records: RECORDS - 1, unchained: { pending: 1 } });
    // The ledger was stored after the event by more than a grace of 0 s: it moved past it.
    const late = await auditLedger({ store, checker, ledger, trustedKeys: trusted(), unchainedGraceMs: 0 });
    expect(late.issue).toEqual({
      kind: "source",
      stream: source.stream,
      position: RECORDS - 1,
      seq: source.seq,
      recordId: source.eventId,
      reason: "credits.earned event never chained: the ledger holds records stored 0 s and more after it, none for it",
    });
    const where = ["--ledger-stream", ledger.stream, "--ledger-subject-prefix", ledger.chainSubject.replace(/\.chain$/, "")];
    const pending = await cli(["audit", "--nats-url", nats.url, "--no-progress", ...where]);
    expect(pending).toMatchObject({ code: 0, stdout: expect.stringMatching(/\n  not chained yet    1 source event, stored less than 300 s before the last record; the oldest stored \S+Z, \d+ s ago\n/) });
    const viaCli = await cli(["audit", "--nats-url", nats.url, "--no-progress", "--unchained-grace", "0", ...where]);
    expect(viaCli).toMatchObject({
      code: 1,
      stdout: expect.stringContaining(`first unchained source event: ${source.stream} sequence ${source.seq}, event id ${source.eventId}: credits.earned event never chained`),
    });
  });

  it("names a checkpoint that names more records than the ledger holds, once the ledger ends", async () => {
    const last = messages.length - 1;
    expect(messages[last]!.kind).toBe("checkpoints");
    const real = messages[last]!.events[0]!;
    const beyond = sealEvent(writer.coordinator, { ...real, data: { ...real.data, size: RECORDS + 5 } });
    const { issue, checkpoints } = await audit(await copy(messages.map((m, i) => (i === last ? withEvents(m, [beyond]) : m))));
    expect(issue).toEqual({ kind: "checkpoint", position: checkpoints, seq: last + 1, recordId: real.id, reason: `names ${RECORDS + 5} records, more than the ledger holds (${RECORDS})` });
  });
});

describe("edgecoder audit", () => {
  it("prints the summary and exits 0 for the ledger, and exits 1 naming the record for a tampered copy", async () => {
    const good = await cli(["audit", "--nats-url", nats.url, "--trusted-keys", writer.coordinator.publicKey]);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(new RegExp(`^ledger EC_LEDGER: ${RECORDS} records and \\d+ checkpoints verified, nothing wrong\\n  head hash          [0-9a-f]{64}\\n  latest checkpoint  ${RECORDS} records, root [0-9a-f]{64}, signed by ${writer.coordinator.publicKey}`));
    expect(good.stderr).toContain("audit |");

    const tampered = await copy(oneByte(K, `"index":${K},"prevHash":"`, 9));
    const bad = await cli(["audit", "--nats-url", nats.url, "--no-progress", "--ledger-stream", tampered.stream, "--ledger-subject-prefix", tampered.chainSubject.replace(/\.chain$/, "")]);
    expect(bad.code).toBe(1);
    const { seq, recordId } = named(messages, K);
    expect(bad.stdout).toContain(`first bad record: position ${K}, ledger sequence ${seq}, record id ${recordId}: bad signature`);
    expect(bad.stderr).toBe("");

    // The same verdicts for machines.
    const goodJson = await cli(["audit", "--nats-url", nats.url, "--no-progress", "--json"]);
    expect(goodJson.code).toBe(0);
    expect(JSON.parse(goodJson.stdout)).toMatchObject({ ok: true, ledger: "EC_LEDGER", records: RECORDS, latestCheckpoint: { size: RECORDS }, issue: null, anchors: { anchors: 0 } });
    const badJson = await cli(["audit", "--nats-url", nats.url, "--no-progress", "--json", "--ledger-stream", tampered.stream, "--ledger-subject-prefix", tampered.chainSubject.replace(/\.chain$/, "")]);
    expect(badJson.code).toBe(1);
    expect(JSON.parse(badJson.stdout)).toMatchObject({ ok: false, records: K, issue: { kind: "record", position: K, seq, recordId, reason: expect.stringMatching(/^bad signature/) } });
    expect(await cli(["audit", "--json", "--follow"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--json is for the full audit, not with --follow/) });
  }, 60_000);

  it("proves a source event's record against the latest checkpoint, and verifies the proof offline", async () => {
    const eventId = (recordAt(K).data as { source: { eventId: string } }).source.eventId;
    const proved = await cli(["audit", "--nats-url", nats.url, "--no-progress", "--prove", eventId]);
    expect(proved.code).toBe(0);
    const proof = JSON.parse(proved.stdout) as { eventId: string; index: number; proof: string[]; recordHash: string; checkpoint: { data: { size: number } } };
    expect(proof).toMatchObject({ eventId, index: K, recordHash: eventHash(recordAt(K)), checkpoint: { data: { size: RECORDS } } });
    expect(proof.proof).toHaveLength(6); // ceil(log2(60))

    const dir = await mkdtemp(join(tmpdir(), "ec-proof-"));
    try {
      await writeFile(join(dir, "proof.json"), proved.stdout);
      await writeFile(join(dir, "keys"), `# the coordinator\n${writer.coordinator.publicKey}\n`);
      const ok = await cli(["audit", "--verify-proof", join(dir, "proof.json"), "--trusted-keys", join(dir, "keys")]);
      expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^ok: event ${eventId} is record ${K} of the ledger whose checkpoint of ${RECORDS} records`)) });
      const forged = JSON.stringify({ ...proof, proof: [...proof.proof.slice(0, 5), "00".repeat(32)] });
      expect(await cli(["audit", "--verify-proof", "-"], { input: forged })).toMatchObject({ code: 1, stdout: expect.stringMatching(/^proof refused: the audit path does not lead/) });
      const untrusted = await cli(["audit", "--verify-proof", join(dir, "proof.json"), "--trusted-keys", newSigner().publicKey]);
      expect(untrusted).toMatchObject({ code: 1, stdout: expect.stringMatching(/^proof refused: the checkpoint is signed by an unknown key/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("proves the latest checkpoint extends an earlier one, and verifies that proof offline", async () => {
    const sizes = messages.filter((m) => m.kind === "checkpoints").flatMap((m) => m.events.map((e) => (e.data as { size: number }).size));
    const earlier = sizes[1]!;
    const proved = await cli(["audit", "--nats-url", nats.url, "--no-progress", "--prove-consistency", String(earlier)]);
    expect(proved).toMatchObject({ code: 0, stderr: "" });
    const doc = JSON.parse(proved.stdout) as { from: { data: { size: number } }; to: { data: { size: number } }; proof: string[] };
    expect(doc).toMatchObject({ from: { data: { size: earlier } }, to: { data: { size: RECORDS } } });
    expect(doc.proof.length).toBeGreaterThan(0);

    const ok = await cli(["audit", "--verify-proof", "-", "--trusted-keys", writer.coordinator.publicKey], { input: proved.stdout });
    expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^ok: the checkpoint of ${RECORDS} records \\(root [0-9a-f]{64}\\) extends the checkpoint of ${earlier} records`)) });
    const forged = JSON.stringify({ ...doc, proof: ["00".repeat(32), ...doc.proof.slice(1)] });
    expect(await cli(["audit", "--verify-proof", "-"], { input: forged })).toMatchObject({ code: 1, stdout: expect.stringMatching(new RegExp(`^proof refused: the tree of ${RECORDS} records .* does not extend the tree of ${earlier} records`)) });

    const missing = Array.from({ length: RECORDS }, (_, i) => i + 1).find((n) => !sizes.includes(n))!;
    expect(await cli(["audit", "--nats-url", nats.url, "--no-progress", "--prove-consistency", String(missing)])).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(new RegExp(`the ledger has no checkpoint of ${missing} records \\(sizes ${sizes[0]}, ${sizes[1]}`)),
    });
    expect(await cli(["audit", "--prove-consistency", "0"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--prove-consistency.*a whole number of records/) });
    expect(await cli(["audit", "--prove-consistency", "10", "--prove", "x"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--prove and --prove-consistency cannot be used together/) });
  }, 60_000);

  it("exits 2 with a clear message when it cannot run", async () => {
    expect(await cli(["audit", "--nats-url", "nats://127.0.0.1:1"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/) });
    expect(await cli(["audit", "--nats-url", nats.url, "--ledger-stream", "NOPE"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot read stream NOPE/) });
    expect(await cli(["audit", "--trusted-keys", "not-a-key", "--verify-proof", "-"], { input: "{}" })).toMatchObject({ code: 2, stderr: expect.stringMatching(/--trusted-keys: not-a-key is neither/) });
    expect(await cli(["audit", "--frobnicate"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown option '--frobnicate'/) });
  }, 60_000);
});

describe("an auditor with read-only access", () => {
  let server: NatsServerProcess;
  let storeDir: string;
  const url = (user: string, pass: string) => server.url.replace("nats://", `nats://${user}:${pass}@`);

  beforeAll(async () => {
    process.env.EC_NATS_PASSWORD = "nodepw0123456789abcdef";
    process.env.EC_AUDITOR_PASSWORD = "auditpw0123456789abcdef";
    process.env.EC_SYS_PASSWORD = "syspw0123456789abcdef";
    storeDir = await mkdtemp(join(tmpdir(), "ec-nats-audit-"));
    // The users of deploy/nats/accounts.conf, as deploy/nats/single.conf includes them.
    const accounts = relative(storeDir, join(packageRoot, "deploy/nats/accounts.conf"));
    server = await NatsServerProcess.start({ storeDir, extraConfig: `include ${JSON.stringify(accounts)}` });
  });
  afterAll(async () => {
    await server?.stop();
    await rm(storeDir, { recursive: true, force: true });
  });

  it("audits the whole ledger as the `auditor` user, and through the CLI with credentials in the URL", async () => {
    const connections: NatsConnection[] = [];
    const asNode = async (name: string) => {
      const nc = await connectNats(url("edgecoder", process.env.EC_NATS_PASSWORD!), name);
      connections.push(nc);
      return nc;
    };
    await applyStreams(await asNode("streams"));
    const node = await startLedgerWriter(asNode, { checkpointEvery: 10 });
    await node.write(25);
    await node.chainer.checkpoint();
    await node.stop();

    const auditor = await connectNats(url("auditor", process.env.EC_AUDITOR_PASSWORD!), "auditor");
    const auditorStore = await createEventStore(auditor);
    const result = await auditLedger({ store: auditorStore, checker, trustedKeys: new Set([node.coordinator.publicKey]) });
    expect(result.issue).toBeUndefined();
    expect(result).toMatchObject({ ok: true, records: 25, latestCheckpoint: { size: 25 } });
    auditorStore.close();
    await auditor.close();

    const viaCli = await cli(["audit", "--nats-url", url("auditor", process.env.EC_AUDITOR_PASSWORD!), "--no-progress"]);
    expect(viaCli).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ledger EC_LEDGER: 25 records and \d+ checkpoints verified, nothing wrong/) });
    await Promise.all(connections.map((nc) => nc.close()));
  }, 60_000);
});
