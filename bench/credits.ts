import type { NatsConnection } from "@nats-io/transport-node";
import { signingPool } from "../src/adapters/crypto/signingPool.js";
import { verificationPool } from "../src/adapters/crypto/verificationPool.js";
import { connectNats } from "../src/adapters/nats/connection.js";
import { createEventStore } from "../src/adapters/nats/eventStore.js";
import { applyStreams } from "../src/adapters/nats/streams.js";
import { commandHandlers } from "../src/app/commandHandlers.js";
import { generatePrivateKeyPem } from "../src/adapters/crypto/ed25519.js";
import { DomainRuleViolation } from "../src/domain/decider.js";
import { creditSubject, type CreditCommand } from "../src/domain/credits/commands.js";
import { creditWriter, signedAppendRate } from "./appends.js";
import { benchNats, pooled, report, round } from "./support.js";

export interface CreditsBenchOptions {
  /** Accounts that pay for tasks (hold, then spend or release); each writer owns an equal share. */
  readonly payers: number;
  /** Accounts that earn for work done (the agents' owners), shared by every writer. */
  readonly earners: number;
  readonly writers: number;
  /** Task-like cycles each writer runs per round. */
  readonly cyclesPerWriter: number;
  /** Rounds of baseline then credits, so a drift of the VM's speed falls on both alike. */
  readonly rounds: number;
  /** Every n-th cycle first asks for one millicredit more than the payer has, which must be refused. */
  readonly overdraftEvery: number;
}

const PAYER_SEED = 1_000_000;
const EARNER_SEED = 1_000;

type Handle = ReturnType<typeof commandHandlers>["account"];

interface Tally {
  movements: number;
  commands: number;
  refused: number;
}

/** Everything the writers asked for, with what the balances must be afterwards. */
interface Book {
  readonly payerAvailable: number[];
  readonly earnerAvailable: number[];
  readonly tally: Tally;
}

const payerSubject = (i: number) => creditSubject(`payer-${i}`);
const earnerSubject = (i: number) => creditSubject(`earner-${i}`);

/** Deterministic amounts spread over 1-50 credits, so runs compare. */
const holdAmount = (w: number, k: number) => 1000 + ((w * 7919 + k * 104_729) % 49_000);

/**
 * One writer's task-like cycles on its own payers: hold the task's cost, then spend part of it
 * (the work done, earned by an agent's owner) or release it all (a failed task, one in five).
 * Because only this writer moves its payers' balances, it knows them exactly: the overdraft it
 * asks for is one millicredit over the balance, the sharpest case of the rule.
 */
async function runWriter(handle: Handle, opts: CreditsBenchOptions, book: Book, w: number, from: number, cycles: number): Promise<void> {
  const { tally } = book;
  const mine = Math.floor(opts.payers / opts.writers);
  const now = () => ({ now: new Date() });
  const move = async (subject: string, command: CreditCommand, commandId: string) => {
    tally.commands++;
    await handle(subject, command, { ...now(), commandId });
    tally.movements++;
  };
  for (let k = from; k < from + cycles; k++) {
    const p = w + opts.writers * (k % mine);
    const payer = payerSubject(p);
    const task = `t${w}-${k}`;
    if (k % opts.overdraftEvery === opts.overdraftEvery - 1) {
      const over = book.payerAvailable[p]! + 1;
      const command: CreditCommand =
        Math.floor(k / opts.overdraftEvery) % 2 === 0
          ? { kind: "hold", holdId: `${task}-over`, amount: over, reason: "task cost" }
          : { kind: "spend", amount: over, reason: "direct spend", ref: task };
      tally.commands++;
      const refusal = await handle(payer, command, { ...now(), commandId: `${task}-over` }).then(
        () => undefined,
        (err: unknown) => err,
      );
      if (!(refusal instanceof DomainRuleViolation) || refusal.code !== "insufficient_credits") {
        throw new Error(`${payer}: a ${command.kind} of ${over} over a balance of ${over - 1} was not refused as insufficient_credits (${String(refusal)})`);
      }
      tally.refused++;
    }
    const held = holdAmount(w, k);
    await move(payer, { kind: "hold", holdId: task, amount: held, reason: "task cost" }, `${task}-hold`);
    book.payerAvailable[p]! -= held;
    if (k % 5 === 4) {
      await move(payer, { kind: "release", holdId: task }, `${task}-release`);
      book.payerAvailable[p]! += held;
      continue;
    }
    const spent = held - ((k * 31) % Math.floor(held / 2));
    await move(payer, { kind: "spend", holdId: task, amount: spent, reason: "task work", ref: task }, `${task}-spend`);
    book.payerAvailable[p]! += held - spent;
    const e = (k * opts.writers + w) % opts.earners;
    await move(earnerSubject(e), { kind: "earn", amount: spent, reason: "compute", ref: task }, `${task}-earn`);
    book.earnerAvailable[e]! += spent;
  }
}

/** Reads sampled accounts afresh from the stream (signatures checked) and compares them with the book. */
async function checkBalances(handle: Handle, opts: CreditsBenchOptions, book: Book, every: number): Promise<number> {
  const sampled: [string, number][] = [];
  for (let p = 0; p < opts.payers; p += every) sampled.push([payerSubject(p), book.payerAvailable[p]!]);
  for (let e = 0; e < opts.earners; e += every) sampled.push([earnerSubject(e), book.earnerAvailable[e]!]);
  await pooled(sampled, 16, async ([subject, expected]) => {
    const state = await handle.read(subject);
    const holds = Object.keys(state.held).length;
    if (state.available !== expected || holds > 0) {
      throw new Error(`${subject}: the stream says ${state.available} available and ${holds} open hold(s), the writers' book ${expected} and none`);
    }
  });
  return sampled.length;
}

/**
 * Credit movements through the account handler the node builds (real signing pool, decider, rules,
 * expected-version appends, its cache), beside the backbone's signed appends on as many accounts
 * at the same concurrency, measured in turns on the same nats-server.
 */
export async function creditsBench(opts: CreditsBenchOptions): Promise<void> {
  if (opts.payers % opts.writers !== 0) throw new RangeError("payers must split evenly among the writers");
  const accounts = opts.payers + opts.earners;
  const nats = await benchNats();
  let nc: NatsConnection | undefined;
  const closers: (() => unknown)[] = [];
  try {
    nc = await connectNats(nats.server.url, "bench");
    await applyStreams(nc);
    const store = await createEventStore(nc);
    const sealer = signingPool(generatePrivateKeyPem());
    const verifier = verificationPool();
    closers.push(() => store.close(), () => sealer.close(), () => verifier.close());
    const handle = commandHandlers({ store, sealer, verifier }).account;

    // Not timed: an earn on each account, as the backbone's writer warms its own as many accounts.
    const seeds: [string, number][] = [
      ...Array.from({ length: opts.payers }, (_, i) => [payerSubject(i), PAYER_SEED] as [string, number]),
      ...Array.from({ length: opts.earners }, (_, i) => [earnerSubject(i), EARNER_SEED] as [string, number]),
    ];
    await pooled(seeds, opts.writers, ([s, amount]) => handle(s, { kind: "earn", amount, reason: "seed" }, { now: new Date(), commandId: `seed-${s}` }));
    const book: Book = {
      payerAvailable: Array.from({ length: opts.payers }, () => PAYER_SEED),
      earnerAvailable: Array.from({ length: opts.earners }, () => EARNER_SEED),
      tally: { movements: 0, commands: 0, refused: 0 },
    };
    const writer = await creditWriter(nc);
    closers.push(() => writer.close());
    await signedAppendRate(writer, accounts, 1, opts.writers);

    // The baseline appends about as many commits per round as the credit cycles move.
    const perAccount = Math.max(1, Math.round((opts.writers * opts.cyclesPerWriter * 2.8) / accounts));
    let baseAppends = 0;
    let baseSeconds = 0;
    let creditSeconds = 0;
    for (let r = 0; r < opts.rounds; r++) {
      const rate = await signedAppendRate(writer, accounts, perAccount, opts.writers);
      baseAppends += accounts * perAccount;
      baseSeconds += (accounts * perAccount) / rate;
      const started = performance.now();
      await Promise.all(Array.from({ length: opts.writers }, (_, w) => runWriter(handle, opts, book, w, r * opts.cyclesPerWriter, opts.cyclesPerWriter)));
      creditSeconds += (performance.now() - started) / 1000;
    }
    const expectedRefusals = Math.floor((opts.rounds * opts.cyclesPerWriter) / opts.overdraftEvery) * opts.writers;
    if (book.tally.refused !== expectedRefusals) throw new Error(`${book.tally.refused} overdrafts refused, ${expectedRefusals} asked for`);
    const checked = await checkBalances(handle, opts, book, 50);

    const { movements, commands, refused } = book.tally;
    report("credit_movements_per_s", movements / creditSeconds, "movements/s", baseAppends / baseSeconds, {
      baselineIs: `the backbone's signed, concurrency-checked appends (earns on the cached account) by ${opts.writers} writers over ${accounts} accounts, in turns with the credit rounds, same nats-server`,
      target_ratio: 0.7,
      accounts,
      writers: opts.writers,
      movements,
      commands,
      overdraftsRefused: refused,
      commandsPerS: round(commands / creditSeconds),
      balancesChecked: checked,
      mix: `per cycle: hold; spend part of it and earn that on an earner's account, or (1 in 5) release it; every ${opts.overdraftEvery}th cycle first a hold or spend of one millicredit over the balance, refused`,
      seconds: round(creditSeconds, 2),
      baselineSeconds: round(baseSeconds, 2),
    });
  } finally {
    for (const close of closers.reverse()) await close();
    await nc?.close();
    await nats.close();
  }
}
