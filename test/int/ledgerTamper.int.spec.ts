import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
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
import { eventHash } from "../../src/domain/ledger/record.js";
import { newSigner } from "../support/events.js";
import { copyLedger, readLedgerMessages, startLedgerWriter, type LedgerMessage, type LedgerWriter } from "../support/ledger.js";
import { startTestNats, type TestNats } from "../support/nats.js";

const run = promisify(execFile);
const cli = (args: string[], input?: string) => {
  const child = run(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { env: { ...process.env, EC_DATA_DIR: "/nonexistent" } });
  if (input !== undefined) {
    child.child.stdin!.end(input);
  }
  return child.then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
};

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
/** Where record `index` is in the message list (its sequence in an unchanged copy is this + 1). */
const at = (index: number) => messages.findIndex((m) => m.kind === "chain" && (m.events[0]!.data as { index: number }).index === index);
const recordAt = (index: number) => messages[at(index)]!.events[0]!;
const withEvent = (m: LedgerMessage, e: EventEnvelope): LedgerMessage => ({ kind: m.kind, text: JSON.stringify([e]), events: [e] });
const replaced = (i: number, m: LedgerMessage) => messages.map((x, j) => (j === i ? m : x));
/** Changes one character of a message's text, `offset` characters after `marker`. */
function oneByte(m: LedgerMessage, marker: string, offset: number, to?: string): LedgerMessage {
  const p = m.text.indexOf(marker) + marker.length + offset;
  const ch = m.text[p]!;
  return { ...m, text: m.text.slice(0, p) + (to ?? (ch === "0" ? "1" : "0")) + m.text.slice(p + 1) };
}

describe("tampering with a copy of the ledger is caught at the exact record", () => {
  it("passes an untouched copy (the control)", async () => {
    const result = await audit(await copy(messages));
    expect(result.issue).toBeUndefined();
    expect(result).toMatchObject({ ok: true, records: RECORDS, checkpoints: messages.filter((m) => m.kind === "checkpoints").length });
    expect(result.latestCheckpoint).toMatchObject({ size: RECORDS, headHash: result.headHash, signer: writer.coordinator.publicKey });
  });

  it("names the record with one byte changed inside its signed data (still valid JSON): bad signature", async () => {
    const changed = oneByte(messages[at(K)]!, '"prevHash":"', 5);
    expect(JSON.parse(changed.text)).toBeTruthy();
    const { issue } = await audit(await copy(replaced(at(K), changed)));
    expect(issue).toEqual({ kind: "record", position: K, seq: at(K) + 1, recordId: recordAt(K).id, reason: expect.stringMatching(/^bad signature/) });
  });

  it("names the record with one byte changed so that it is no longer JSON", async () => {
    const changed = oneByte(messages[at(K)]!, '"data":', 0, "[");
    expect(() => JSON.parse(changed.text)).toThrow();
    const { issue } = await audit(await copy(replaced(at(K), changed)));
    expect(issue).toEqual({ kind: "record", position: K, seq: at(K) + 1, recordId: recordAt(K).id, reason: expect.stringMatching(/not a JSON array of events/) });
  });

  it("names the record after a dropped one: its index is not the one due", async () => {
    const dropped = messages.filter((_, j) => j !== at(K));
    const { issue } = await audit(await copy(dropped));
    // The next record now sits where the dropped one was.
    expect(issue).toEqual({ kind: "record", position: K, seq: at(K + 1), recordId: recordAt(K + 1).id, reason: expect.stringMatching(new RegExp(`^index ${K + 1} where ${K} was due`)) });
  });

  it("names the first of two swapped records", async () => {
    const [i, j] = [at(K), at(K + 1)];
    const swapped = messages.map((m, n) => (n === i ? messages[j]! : n === j ? messages[i]! : m));
    const { issue } = await audit(await copy(swapped));
    expect(issue).toEqual({ kind: "record", position: K, seq: i + 1, recordId: recordAt(K + 1).id, reason: expect.stringMatching(new RegExp(`^index ${K + 1} where ${K} was due`)) });
  });

  it("names a forged record inserted with a valid signature by a key that is not trusted", async () => {
    const real = recordAt(K);
    const forged = sealEvent(newSigner(), { ...real, id: crypto.randomUUID() });
    const inserted = [...messages.slice(0, at(K)), withEvent(messages[at(K)]!, forged), ...messages.slice(at(K))];
    const { issue } = await audit(await copy(inserted));
    expect(issue).toEqual({ kind: "record", position: K, seq: at(K) + 1, recordId: forged.id, reason: expect.stringMatching(/^signed by an unknown key/) });
  });

  it("names a record re-signed by the trusted key with its link changed: broken link", async () => {
    const real = recordAt(K);
    const relinked = sealEvent(writer.coordinator, { ...real, data: { ...real.data, prevHash: "ab".repeat(32) } });
    const { issue } = await audit(await copy(replaced(at(K), withEvent(messages[at(K)]!, relinked))));
    expect(issue).toEqual({ kind: "record", position: K, seq: at(K) + 1, recordId: real.id, reason: expect.stringMatching(/^broken link: prevHash abab/) });
  });

  it("names a record re-signed by the trusted key with its content changed: it no longer matches its source event", async () => {
    const real = recordAt(K);
    const changed = sealEvent(writer.coordinator, { ...real, data: { ...real.data, actor: newSigner().publicKey } });
    const { issue } = await audit(await copy(replaced(at(K), withEvent(messages[at(K)]!, changed))));
    expect(issue).toEqual({ kind: "record", position: K, seq: at(K) + 1, recordId: real.id, reason: expect.stringMatching(/^does not match its source event .*: actor differs/) });
  });

  it("when a record is changed and re-signed by the trusted key while staying true to its source, the link of the record after it breaks on it", async () => {
    const real = recordAt(K);
    const resigned = sealEvent(writer.coordinator, { ...real, time: new Date(Date.parse(real.time) + 1).toISOString() });
    const { issue } = await audit(await copy(replaced(at(K), withEvent(messages[at(K)]!, resigned))));
    expect(issue).toEqual({
      kind: "record",
      position: K + 1,
      seq: at(K + 1) + 1,
      recordId: recordAt(K + 1).id,
      reason: `broken link: prevHash ${eventHash(real)} is not the hash of record ${K} (${eventHash(resigned)})`,
    });
  });

  it("names a checkpoint with a wrong Merkle root, re-signed by the trusted key, as the checkpoint; and one changed without re-signing", async () => {
    const checkpoints = messages.flatMap((m, j) => (m.kind === "checkpoints" ? [j] : []));
    const j = checkpoints[2]!;
    const real = messages[j]!.events[0]!;
    const wrongRoot = sealEvent(writer.coordinator, { ...real, data: { ...real.data, root: "cd".repeat(32) } });
    const resigned = await audit(await copy(replaced(j, withEvent(messages[j]!, wrongRoot))));
    expect(resigned.issue).toEqual({
      kind: "checkpoint",
      position: 2,
      seq: j + 1,
      recordId: real.id,
      reason: expect.stringMatching(new RegExp(`^Merkle root cdcd\\w+ is not the root of the first ${(real.data as { size: number }).size} records`)),
    });
    expect(resigned.checkpoints).toBe(2);
    const unsigned = await audit(await copy(replaced(j, oneByte(messages[j]!, '"root":"', 0))));
    expect(unsigned.issue).toMatchObject({ kind: "checkpoint", position: 2, seq: j + 1, recordId: real.id, reason: expect.stringMatching(/^bad signature/) });
  });
});

describe("edgecoder audit", () => {
  it("prints the summary and exits 0 for the ledger, and exits 1 naming the record for a tampered copy", async () => {
    const good = await cli(["audit", "--nats-url", nats.url, "--trusted-keys", writer.coordinator.publicKey]);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(new RegExp(`^ledger EC_LEDGER: ${RECORDS} records and \\d+ checkpoints verified, nothing wrong\\n  head hash          [0-9a-f]{64}\\n  latest checkpoint  ${RECORDS} records, root [0-9a-f]{64}, signed by ${writer.coordinator.publicKey}`));
    expect(good.stderr).toContain("audit |");

    const tampered = await copy(replaced(at(K), oneByte(messages[at(K)]!, '"eventTime":"', 3)));
    const bad = await cli(["audit", "--nats-url", nats.url, "--no-progress", "--ledger-stream", tampered.stream, "--ledger-subject-prefix", tampered.chainSubject.replace(/\.chain$/, "")]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`first bad record: position ${K}, ledger sequence ${at(K) + 1}, record id ${recordAt(K).id}: bad signature`);
    expect(bad.stderr).toBe("");
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
      expect(await cli(["audit", "--verify-proof", "-"], forged)).toMatchObject({ code: 1, stdout: expect.stringMatching(/^proof refused: the audit path does not lead/) });
      const untrusted = await cli(["audit", "--verify-proof", join(dir, "proof.json"), "--trusted-keys", newSigner().publicKey]);
      expect(untrusted).toMatchObject({ code: 1, stdout: expect.stringMatching(/^proof refused: the checkpoint is signed by an unknown key/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("exits 2 with a clear message when it cannot run", async () => {
    expect(await cli(["audit", "--nats-url", "nats://127.0.0.1:1"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/) });
    expect(await cli(["audit", "--nats-url", nats.url, "--ledger-stream", "NOPE"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot read stream NOPE/) });
    expect(await cli(["audit", "--trusted-keys", "not-a-key", "--verify-proof", "-"], "{}")).toMatchObject({ code: 2, stderr: expect.stringMatching(/--trusted-keys: not-a-key is neither/) });
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
    expect(viaCli).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ledger EC_LEDGER: 25 records and 3 checkpoints verified, nothing wrong/) });
    await Promise.all(connections.map((nc) => nc.close()));
  }, 60_000);
});
