import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coordinatorAccountOf, LOCAL_ACCOUNT } from "../../src/app/credits/nodeAccounts.js";
import { taskHold } from "../../src/domain/credits/workPricing.js";
import { jetstreamManager } from "@nats-io/jetstream";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { createEventStore } from "../../src/adapters/nats/eventStore.js";
import { commandHandlers } from "../../src/app/commandHandlers.js";
import { verificationPool } from "../../src/adapters/crypto/verificationPool.js";
import { sealEvent } from "../../src/adapters/crypto/eventSigning.js";
import { auditLedger } from "../../src/adapters/ledger/audit.js";
import { creditFlowReaction } from "../../src/app/flows/creditFlow.js";
import { startOrphanHoldSweeper } from "../../src/app/credits/orphanHolds.js";
import { cli } from "../support/cli.js";
import { newSigner } from "../support/events.js";
import { splitsIntoTwoPrints } from "../support/fakeOllama.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";

/**
 * Tasks pay and workers earn, on a running node with its own worker: the submitter's account
 * holds the most a task can cost, its end settles the hold, the worker's owner is paid for each
 * result and the coordinator for its model and fee; every movement names the event that caused it.
 */
let t: TestNode;
const models = ["qwen2.5-coder:1.5b"];
const GRANT = 1_000_000 * 1000;
const WORKER_OWNER = "worker-owner";

interface Account {
  available: number;
  held: number;
  earned: number;
  spent: number;
}
async function account(id: string): Promise<Account | undefined> {
  const r = await t.db.pool.query("SELECT available, held, earned_total, spent_total FROM credit_accounts WHERE account_id = $1", [id]);
  const row = r.rows[0];
  return row && { available: Number(row.available), held: Number(row.held), earned: Number(row.earned_total), spent: Number(row.spent_total) };
}
const movements = async (id: string) =>
  (await t.db.pool.query<{ type: string; amount: string; ref: string | null; event_id: string }>("SELECT type, amount, ref, event_id FROM credit_transactions WHERE account_id = $1 ORDER BY seq", [id])).rows;

async function finished(taskId: string) {
  return eventually("the task to end", async () => {
    const r = await t.admin("GET", `/tasks/${taskId}/result`);
    return r.status === 200 && r.body.done ? r.body : undefined;
  }, 40_000);
}

beforeAll(async () => {
  // The worker's work pays an account of its own here, so the payer's and the earner's books stay apart.
  t = await startTestNode({ workerOwner: WORKER_OWNER }, { models, draw: () => 0.999 });
  t.model.answer = splitsIntoTwoPrints("print(1)");
}, 120_000);
afterAll(async () => t?.close());

describe("a task's credits", () => {
  it("a development node grants its local account once; a task holds its most, and its end spends what the work cost and returns the rest", async () => {
    expect(await eventually("the development grant", () => account(LOCAL_ACCOUNT))).toMatchObject({ available: GRANT, held: 0 });
    const submitted = await t.admin("POST", "/submit", { prompt: "print 1 and then 2", language: "python" });
    expect(submitted.status).toBe(202);
    const taskId = submitted.body.taskId as string;
    const hold = taskHold({ resourceClass: "cpu", model: "qwen2.5-coder:1.5b" });
    expect(submitted.body.heldMillicredits).toBe(hold);
    // Its value at the current price of a credit (the CPU network price, in sats).
    const price = (await (await fetch(new URL("/economy/price/current", t.node.controlPlaneUrl), { headers: { authorization: `Bearer ${t.node.adminToken}` } })).json()) as { satsPerCredit: { value: number } };
    expect(submitted.body.heldSats).toBe(Math.ceil((hold * price.satsPerCredit.value) / 1000));

    expect((await finished(taskId)).status).toBe("completed");
    const settled = await eventually("the hold settled", async () => {
      const a = await account(LOCAL_ACCOUNT);
      return a && a.held === 0 && a.spent > 0 ? a : undefined;
    });
    // Spent: the two results' compute at the base rate, the 1.5 credits of a 1.5b model, the 1.5% fee.
    expect(settled.spent).toBeGreaterThan(1500);
    expect(settled.spent).toBeLessThan(hold);
    expect(settled.available).toBe(GRANT - settled.spent);
    expect((await movements(LOCAL_ACCOUNT)).filter((m) => m.type === "credits.earned")).toHaveLength(1);

    // The worker's owner (the account the node's worker names) earned for both results.
    const earner = WORKER_OWNER;
    const earned = await eventually("the worker paid for both results", async () => {
      const m = (await movements(earner)).filter((x) => x.type === "credits.earned");
      return m.length === 2 ? m : undefined;
    });
    for (const e of earned) expect(e.ref).toMatch(/^lease:/);
    // The history an operator reads names each movement's cause.
    const history = (await (await fetch(new URL(`/credits/${earner}/history`, t.node.controlPlaneUrl), { headers: { authorization: `Bearer ${t.node.adminToken}` } })).json()) as {
      transactions: { type: string; ref: string; cause: { subject: string; eventId: string } | null }[];
    };
    expect(history.transactions).toHaveLength(2);
    for (const x of history.transactions) expect(x.cause?.subject).toMatch(new RegExp(`^ec\\.tasks\\.subtask\\.${taskId}-[01]$`));
    // The coordinator earned the model charge and the fee: what the payer spent beyond the compute.
    const coordinator = coordinatorAccountOf(t.node.publicKey);
    const fee = await eventually("the coordinator's fee", async () => (await movements(coordinator))[0]);
    expect(fee).toMatchObject({ type: "credits.earned", ref: `task:${taskId}` });
    expect(Number(fee.amount)).toBeGreaterThanOrEqual(1500);

    // Each movement names the event that caused it, and that event is on the tasks stream.
    const nc = await t.nats.connect("credits-test");
    try {
      const store = await createEventStore(nc);
      const { commits } = await store.readAggregate(`ec.credits.account.${earner}`);
      const causes = commits.flatMap((c) => (JSON.parse(new TextDecoder().decode(c.data)) as { data: { cause?: { subject: string; eventId: string } } }[]).map((e) => e.data.cause));
      expect(causes).toHaveLength(2);
      for (const cause of causes) {
        const { commits: source } = await store.readAggregate(cause!.subject);
        const ids = source.flatMap((c) => (JSON.parse(new TextDecoder().decode(c.data)) as { id: string; type: string }[]).map((e) => `${e.id} ${e.type}`));
        expect(ids.find((x) => x.startsWith(cause!.eventId))).toMatch(/ subtask\.(completed|checkPassed)$/);
      }
    } finally {
      await nc.close();
    }
  }, 90_000);

  it("edgecoder credits shows an account's balance and its latest movements with their causes", async () => {
    const env = { EC_DATA_DIR: t.dataDir, CONTROL_PLANE_PORT: new URL(t.node.controlPlaneUrl).port, NATS_URL: t.nats.url, DATABASE_URL: t.db.url };
    const shown = await cli(["credits", WORKER_OWNER], { env });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout.startsWith(`account ${WORKER_OWNER}\n`)).toBe(true);
    expect(shown.stdout).toMatch(/\n {2}available {2}[\d,]+\.\d{3} credits\n/);
    expect(shown.stdout).toMatch(/earned .*<- ec\.tasks\.subtask\./);
    const json = await cli(["credits", WORKER_OWNER, "--json", "--limit", "1"], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({ accountId: WORKER_OWNER, unit: "millicredits", recent: [expect.objectContaining({ type: "credits.earned" })] });
    expect(await cli(["credits", "nobody-here"], { env })).toMatchObject({ code: 1, stdout: "account nobody-here: no credit events yet\n" });
    expect(await cli(["credits", "x", "--control-plane-url", "http://127.0.0.1:9"], { env })).toMatchObject({ code: 2, stderr: expect.stringMatching(/no node answers at http:\/\/127\.0\.0\.1:9/) });
  }, 60_000);

  it("a result delivered again after the stream's duplicate window moves nothing twice", async () => {
    const spends = async () => (await movements(LOCAL_ACCOUNT)).filter((m) => m.type === "credits.spent").length;
    const spentBefore = await spends();
    const taskId = (await t.admin("POST", "/submit", { prompt: "print 1 and then 2", language: "python" })).body.taskId as string;
    expect((await finished(taskId)).status).toBe("completed");
    const earner = WORKER_OWNER;
    await eventually("the settlement", async () => ((await spends()) === spentBefore + 1 ? true : undefined));
    const nc = await t.nats.connect("credits-redelivery");
    const jsm = await jetstreamManager(nc);
    const window = (await jsm.streams.info("EC_CREDITS")).config.duplicate_window;
    try {
      const store = await createEventStore(nc);
      // The commits that paid: the subtask's result and the task's end.
      const paying: { seq: number; subject: string; data: Uint8Array }[] = [];
      for (const subject of [`ec.tasks.subtask.${taskId}-0`, `ec.tasks.task.${taskId}`]) {
        for (const c of (await store.readAggregate(subject)).commits) {
          const types = (JSON.parse(new TextDecoder().decode(c.data)) as { type: string }[]).map((e) => e.type);
          if (types.some((x) => x === "subtask.completed" || x === "subtask.checkPassed" || x === "task.completed")) paying.push({ seq: c.seq, subject, data: c.data });
        }
      }
      expect(paying).toHaveLength(2);
      // The stream would no longer see the movements' ids as duplicates: only the flow's own look stops them.
      await jsm.streams.update("EC_CREDITS", { duplicate_window: 100_000_000 });
      await new Promise((r) => setTimeout(r, 300));
      // The stream is what counts (a projection may skip an event id it has seen; the account's fold would not).
      const accounts = [earner, LOCAL_ACCOUNT, coordinatorAccountOf(t.node.publicKey)];
      const onStream = async () => Promise.all(accounts.map(async (a) => (await store.readAggregate(`ec.credits.account.${a}`)).commits.length));
      const before = await onStream();
      const react = creditFlowReaction({
        store,
        handlers: commandHandlers({ store, sealer: inlineSealer(newSigner()) }),
        pool: t.db.pool,
        coordinatorAccount: coordinatorAccountOf(t.node.publicKey),
        defaultModel: "qwen2.5-coder:1.5b",
      });
      for (const c of paying) await react({ stream: "EC_TASKS", ...c, deliveries: 2 });
      expect(await onStream()).toEqual(before);
    } finally {
      await jsm.streams.update("EC_CREDITS", { duplicate_window: window });
      await nc.close();
    }
  }, 90_000);

  it("a hold whose task was never appended (a node died between the two) is released by the sweeper; a live task's is not", async () => {
    const nc = await t.nats.connect("credits-orphans");
    try {
      const store = await createEventStore(nc);
      const handlers = commandHandlers({ store, sealer: inlineSealer(newSigner()) });
      const ghost = crypto.randomUUID();
      await handlers.account(`ec.credits.account.${LOCAL_ACCOUNT}`, { kind: "hold", holdId: `task:${ghost}`, amount: 1_000, reason: `task ${ghost}` }, { now: new Date() });
      // A live task, held and appended, still running: its model answers slowly.
      t.model.answer = async (prompt) => (await new Promise((r) => setTimeout(r, 1_500)), splitsIntoTwoPrints("print(1)")(prompt));
      const live = (await t.admin("POST", "/submit", { prompt: "print 1 and then 2" })).body.taskId as string;
      await eventually("both holds projected", async () =>
        (await t.db.pool.query("SELECT 1 FROM credit_holds WHERE hold_id = ANY($1)", [[`task:${ghost}`, `task:${live}`]])).rowCount === 2 ? true : undefined,
      );
      // The sweeper's first pass runs at its start; stopping it waits for that pass.
      const released: string[] = [];
      const sweeper = startOrphanHoldSweeper({ pool: t.db.pool, store, handleCredit: handlers.account, everyMs: 3_600_000, graceMs: 0, clock: () => new Date(Date.now() + 1_000) });
      await sweeper.stop();
      released.push(...(await sweeper.sweep()));
      expect(released).not.toContain(live);
      await eventually("the ghost's hold returned", async () => ((await t.db.pool.query("SELECT 1 FROM credit_holds WHERE hold_id = $1", [`task:${ghost}`])).rowCount === 0 ? true : undefined));
      const releases = (await t.db.pool.query("SELECT 1 FROM credit_transactions WHERE type = 'credits.released' AND hold_id = $1", [`task:${ghost}`])).rowCount;
      expect(releases).toBe(1);
      // The live task's hold was not released: its end settles it (a spend), below.
      expect((await finished(live)).status).toBe("completed");
      const liveMoves = await eventually("the live task settled", async () => {
        const r = (await t.db.pool.query<{ type: string }>("SELECT type FROM credit_transactions WHERE hold_id = $1 ORDER BY seq", [`task:${live}`])).rows.map((x) => x.type);
        return r.length === 2 ? r : undefined;
      });
      expect(liveMoves).toEqual(["credits.held", "credits.spent"]);
    } finally {
      t.model.answer = splitsIntoTwoPrints("print(1)");
      await nc.close();
    }
  }, 60_000);

  it("the credit flow keeps the histories it sees, whole, and reads a subject's history from the stream only when it missed a commit of it", async () => {
    const taskId = (await t.admin("POST", "/submit", { prompt: "print 1 and then 2", language: "python" })).body.taskId as string;
    expect((await finished(taskId)).status).toBe("completed");
    const nc = await t.nats.connect("credits-histories");
    try {
      const store = await createEventStore(nc);
      const subject = `ec.tasks.subtask.${taskId}-0`;
      const { commits } = await store.readAggregate(subject);
      const reads: string[] = [];
      const counting = { ...store, readAggregate: (s: string) => (reads.push(s), store.readAggregate(s)) };
      const reaction = () =>
        creditFlowReaction({ store: counting, handlers: commandHandlers({ store, sealer: inlineSealer(newSigner()) }), pool: t.db.pool, coordinatorAccount: coordinatorAccountOf(t.node.publicKey), defaultModel: "qwen2.5-coder:1.5b" });
      const deliver = async (react: ReturnType<typeof reaction>, which: typeof commits) => {
        for (const c of which) await react({ stream: "EC_TASKS", seq: c.seq, subject, data: c.data, deliveries: 1, previousSubjectSeq: commits[commits.indexOf(c) - 1]?.seq ?? 0 });
      };
      // Every commit in order: the paid result's history is the one kept, nothing is read.
      await deliver(reaction(), commits);
      expect(reads.filter((r) => r === subject)).toEqual([]);
      // The assignment missed (another node's consumer took it): the history is read instead.
      await deliver(reaction(), commits.filter((_, i) => i !== 1));
      expect(reads.filter((r) => r === subject).length).toBeGreaterThan(0);
    } finally {
      await nc.close();
    }
  }, 60_000);

  it("a payer who cannot cover a task is refused with 402 and nothing is appended", async () => {
    const nc = await t.nats.connect("credits-test");
    try {
      const store = await createEventStore(nc);
      const before = { tasks: await store.lastSeq("EC_TASKS"), credits: await store.lastSeq("EC_CREDITS") };
      const r = await t.admin("POST", "/submit", { prompt: "print 1", submitter: "pauper" });
      expect(r.status).toBe(402);
      expect(r.body).toMatchObject({ error: "insufficient_credits", message: expect.stringMatching(/account pauper cannot cover the task: it needs \d+ millicredits, 0 available/) });
      expect({ tasks: await store.lastSeq("EC_TASKS"), credits: await store.lastSeq("EC_CREDITS") }).toEqual(before);
    } finally {
      await nc.close();
    }
  });

  it("a failed task returns its whole hold", async () => {
    const before = (await account(LOCAL_ACCOUNT))!;
    models.length = 0; // the model goes away: decomposition fails, and so does the task
    try {
      const taskId = (await t.admin("POST", "/submit", { prompt: "print 3" })).body.taskId as string;
      expect((await finished(taskId)).status).toBe("failed");
      const after = await eventually("the hold returned", async () => {
        const a = await account(LOCAL_ACCOUNT);
        return a && a.held === 0 && (await movements(LOCAL_ACCOUNT)).some((m) => m.type === "credits.released") ? a : undefined;
      });
      expect(after).toEqual(before);
    } finally {
      models.push("qwen2.5-coder:1.5b");
    }
  }, 60_000);

  it("the audit's credit books balance; a validly signed movement that overdraws is named and fails them", async () => {
    const nc = await t.nats.connect("credits-audit");
    const verifier = verificationPool(2);
    try {
      const store = await createEventStore(nc);
      const sound = await eventually("an audit that covers the credits", async () => {
        const a = await auditLedger({ store, verifier });
        return a.books && a.books.events > 0 ? a : undefined;
      });
      expect(sound.ok).toBe(true);
      expect(sound.books!.issue).toBeUndefined();
      const projected = (await t.db.pool.query("SELECT coalesce(sum(available + held), 0)::text AS total FROM credit_accounts")).rows[0].total as string;
      expect(String(sound.books!.available + sound.books!.held)).toBe(projected);
      expect(sound.books!.minted - sound.books!.burned).toBe(sound.books!.available + sound.books!.held);

      // A writer that skips the decider: its event is signed and well formed, and spends what the account does not hold.
      const { version } = await store.readAggregate("ec.credits.account.pauper2");
      const forged = sealEvent(newSigner(), { id: crypto.randomUUID(), type: "credits.spent", subject: "ec.credits.account.pauper2", data: { amount: 5_000, reason: "nothing behind it" }, time: new Date().toISOString(), schemaVersion: 1 });
      await store.append("ec.credits.account.pauper2", [forged], version);
      const broken = await auditLedger({ store, verifier, unchainedGraceMs: -1 });
      expect(broken.ok).toBe(false);
      expect(broken.books!.issue).toMatch(new RegExp(`^account pauper2, stream sequence \\d+, event ${forged.id}: credits.spent refused by the account's rules: insufficient_credits`));
    } finally {
      await verifier.close();
      await nc.close();
    }
  }, 90_000);
});
