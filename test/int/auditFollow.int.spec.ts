import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealEvent } from "../../src/adapters/crypto/eventSigning.js";
import type { LedgerLocation, VerifiedCheckpoint } from "../../src/adapters/ledger/audit.js";
import { followLedger, type FollowOptions, type FollowResult } from "../../src/adapters/ledger/auditFollow.js";
import { AuditState } from "../../src/adapters/ledger/auditState.js";
import { commitCheckerPool, type CommitChecker } from "../../src/adapters/ledger/commitChecker.js";
import { createEventStore, type EventStore } from "../../src/adapters/nats/eventStore.js";
import type { EventEnvelope } from "../../src/domain/events/envelope.js";
import { eventHash } from "../../src/domain/ledger/record.js";
import { copyLedger, readLedgerMessages, startLedgerWriter, type LedgerWriter } from "../support/ledger.js";
import { startTestNats, type TestNats } from "../support/nats.js";
import { eventually } from "../support/node.js";

let nats: TestNats;
let pool: CommitChecker;
let writer: LedgerWriter;
let store: EventStore;
let dir: string;

beforeAll(async () => {
  nats = await startTestNats();
  pool = commitCheckerPool(2);
  writer = await startLedgerWriter((name) => nats.connect(name), { checkpointEvery: 10 });
  store = await createEventStore(await nats.connect("auditor"));
  dir = await mkdtemp(join(tmpdir(), "ec-audit-follow-"));
});
afterAll(async () => {
  await writer?.stop();
  await pool?.close();
  await nats?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The pool, counting the ledger records it is given to check (sources are counted apart). */
function countingChecker() {
  const counts = { records: 0, others: 0 };
  const checker: CommitChecker = {
    check(commits) {
      for (const c of commits) new TextDecoder().decode(c).includes('"type":"ledger.recorded"') ? (counts.records += 1) : (counts.others += 1);
      return pool.check(commits);
    },
    checkSources(commits) {
      counts.others += commits.length;
      return pool.checkSources(commits);
    },
    close: async () => undefined,
  };
  return { checker, counts };
}

/** followLedger running in the background, with what it said so far. */
function following(opts: Omit<FollowOptions, "signal" | "store"> & { store?: EventStore }) {
  const stop = new AbortController();
  const live: VerifiedCheckpoint[] = [];
  let caughtUp = false;
  let resumedAt: number | undefined;
  const done: Promise<FollowResult> = followLedger({
    store,
    ...opts,
    signal: stop.signal,
    onResume: (p) => (resumedAt = p.seq),
    onCaughtUp: () => (caughtUp = true),
    onCheckpoint: (c, isLive) => isLive && live.push(c),
  });
  return {
    done,
    live,
    caughtUp: () => eventually("the follower to catch up", async () => (caughtUp ? true : undefined)),
    liveCheckpoint: (size: number) => eventually(`a live checkpoint of ${size} records`, async () => live.find((c) => c.size === size)),
    resumedAt: () => resumedAt,
    stop: () => (stop.abort(), done),
  };
}

describe("edgecoder audit --follow", () => {
  it("verifies new records and checkpoints as they are chained, and a restarted follower resumes at the saved sequence", async () => {
    const stateFile = join(dir, "node-ledger.json");
    await writer.write(30);
    await writer.chainer.checkpoint();

    const first = countingChecker();
    const run1 = following({ checker: first.checker, stateFile, trustedKeys: new Set([writer.coordinator.publicKey]) });
    await run1.caughtUp();
    await writer.write(20); // the chainer checkpoints every 10 records or so as it goes
    await writer.chainer.checkpoint();
    await run1.liveCheckpoint(50);
    const result1 = await run1.stop();
    expect(result1).toMatchObject({ ok: true, resumedFrom: 0, recordsThisRun: 50, position: { progress: { count: 50 }, lastCheckpoint: { size: 50 } } });
    expect(run1.live.length).toBeGreaterThanOrEqual(2);
    expect(run1.live.every((c) => c.size > 30)).toBe(true);
    const chainMessages = (await readLedgerMessages(store)).filter((m) => m.kind === "chain").length;
    expect(first.counts.records).toBe(chainMessages);
    const saved = AuditState.parse(JSON.parse(await readFile(stateFile, "utf8")));
    expect(saved).toMatchObject({ seq: result1.position.seq, progress: { count: 50, headHash: result1.position.progress.headHash }, tree: { size: 50 }, checkpoints: result1.position.checkpoints });
    expect(saved.lastCheckpoint?.envelope.data).toMatchObject({ size: 50 });

    // Meanwhile the ledger grows; the restarted auditor verifies only what came after the saved sequence.
    await writer.write(15);
    await writer.chainer.checkpoint();
    const second = countingChecker();
    const run2 = following({ checker: second.checker, stateFile, trustedKeys: new Set([writer.coordinator.publicKey]) });
    await run2.caughtUp();
    expect(run2.resumedAt()).toBe(saved.seq);
    await writer.write(5);
    await writer.chainer.checkpoint();
    await run2.liveCheckpoint(70);
    const result2 = await run2.stop();
    expect(result2).toMatchObject({ ok: true, resumedFrom: saved.seq, recordsThisRun: 20, position: { progress: { count: 70 }, lastCheckpoint: { size: 70 } } });
    // Only the messages of the 20 new records were checked; the source streams were read again whole (70 events, one per commit).
    expect(second.counts.records).toBeGreaterThan(0);
    expect(second.counts.records).toBeLessThanOrEqual(20);
    expect(first.counts.records + second.counts.records).toBe((await readLedgerMessages(store)).filter((m) => m.kind === "chain").length);
    expect(second.counts.others).toBeGreaterThanOrEqual(70);
  }, 90_000);

  describe("on a copy of the ledger that is tampered with while it is followed", () => {
    let tamperer: NatsConnection;
    let records: EventEnvelope[];
    beforeAll(async () => {
      tamperer = await nats.connect("tamperer");
      records = (await readLedgerMessages(store)).filter((m) => m.kind === "chain").flatMap((m) => m.events);
    });
    const append = (ledger: LedgerLocation, record: EventEnvelope) => jetstream(tamperer).publish(ledger.chainSubject, new TextEncoder().encode(JSON.stringify([record])));
    /** A record chaining the same source event as `original` again, at `index`, linked right, signed by the trusted coordinator. */
    const again = (original: EventEnvelope, index: number, prevHash: string) =>
      sealEvent(writer.coordinator, { ...original, id: crypto.randomUUID(), data: { ...original.data, index, prevHash } });

    it("a restarted follower still knows which source events were chained before it stopped", async () => {
      const ledger = await copyLedger(tamperer, "resume", records.slice(0, 20).map((r) => ({ kind: "chain" as const, text: JSON.stringify([r]) })));
      const stateFile = join(dir, "copy-resume.json");
      const run1 = following({ checker: pool, stateFile, ledger });
      await run1.caughtUp();
      expect(await run1.stop()).toMatchObject({ ok: true, recordsThisRun: 20 });

      // After the restart, a record chains the source event of record 3 a second time.
      const duplicate = again(records[3]!, 20, eventHash(records[19]!));
      await append(ledger, duplicate);
      const run2 = following({ checker: pool, stateFile, ledger });
      const result = await run2.done;
      expect(result.issue).toEqual({ kind: "record", position: 20, seq: 21, recordId: duplicate.id, reason: expect.stringMatching(/chains source event .* a second time/) });
      expect(result).toMatchObject({ ok: false, resumedFrom: 20, recordsThisRun: 0 });
    }, 60_000);

    it("names a bad record the moment it arrives and stops", async () => {
      const ledger = await copyLedger(tamperer, "live", records.slice(0, 10).map((r) => ({ kind: "chain" as const, text: JSON.stringify([r]) })));
      const run = following({ checker: pool, stateFile: join(dir, "copy-live.json"), ledger, trustedKeys: new Set([writer.coordinator.publicKey]) });
      await run.caughtUp();
      await append(ledger, records[10]!);
      const forged = sealEvent(writer.coordinator, { ...records[11]!, data: { ...records[11]!.data, prevHash: "ef".repeat(32) } });
      await append(ledger, forged);
      const result = await run.done;
      expect(result.issue).toEqual({ kind: "record", position: 11, seq: 12, recordId: forged.id, reason: expect.stringMatching(/^broken link/) });
      expect(result).toMatchObject({ ok: false, recordsThisRun: 11 });
    }, 60_000);
  });

  it("as a command: follows, prints a line per checkpoint, stops cleanly on SIGINT, and resumes from its state file", async () => {
    const stateFile = join(dir, "cli.json");
    const start = () => {
      const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "audit", "--follow", "--no-progress", "--nats-url", nats.url, "--state", stateFile], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      return {
        output: () => stdout,
        says: (text: string) => eventually(`the auditor to say ${JSON.stringify(text)} (it said ${JSON.stringify(stdout + stderr)})`, async () => (stdout.includes(text) ? true : undefined)),
        interrupt: () => (child.kill("SIGINT"), exited),
      };
    };
    const size = writer.chainer.head().size;
    const first = start();
    await first.says("following EC_LEDGER from sequence");
    expect(first.output()).toContain(`ledger EC_LEDGER: ${size} records and`);
    await writer.write(10);
    await writer.chainer.checkpoint();
    await first.says(`checkpoint verified: ${size + 10} records, root `);
    expect(await first.interrupt()).toBe(0);
    expect(first.output()).toMatch(new RegExp(`stopped at ledger sequence \\d+: ${size + 10} records and \\d+ checkpoints verified \\(${size + 10} records this run\\); state saved to`));

    await writer.write(10);
    const second = start();
    await second.says(`resuming from ${stateFile}: ledger sequence`);
    await second.says("following EC_LEDGER");
    expect(second.output()).toContain(`ledger EC_LEDGER: ${size + 20} records and`);
    expect(await second.interrupt()).toBe(0);
    expect(second.output()).toContain("(10 records this run)");
  }, 90_000);
});
