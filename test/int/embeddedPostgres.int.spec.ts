import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import { createEventStore } from "../../src/adapters/nats/eventStore.js";
import { copyRows } from "../../src/adapters/postgres/copyRows.js";
import { createPool, ensureDatabase } from "../../src/adapters/postgres/database.js";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../src/adapters/postgres/embeddedPostgres.js";
import { creditAccountDecider, creditSubject } from "../../src/domain/credits/commands.js";
import { creditEvents } from "../../src/domain/credits/events.js";
import { balancesProjector } from "../../src/projections/credits/balancesProjector.js";
import { startLiveProjection } from "../../src/projections/live.js";
import { migrate } from "../../src/projections/migrate.js";
import { newSigner } from "../support/events.js";
import { startTestNats } from "../support/nats.js";

const mib = () => Math.round(process.memoryUsage().rss / 2 ** 20);
/** Resident and peak resident memory of the Postgres process, from /proc. */
const childMib = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return `${Math.round(kb("VmRSS") / 1024)} (peak ${Math.round(kb("VmHWM") / 1024)})`;
};

let dataDir: string;
let embedded: EmbeddedPostgres;
let pool: pg.Pool;
const rss: Record<string, number | string> = {};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "ec-pglite-"));
  rss.nodeBefore = mib();
  embedded = await startEmbeddedPostgres({ dataDir, waitTimeoutMs: 5_000 });
  rss.nodeStarted = mib();
  rss.postgresStarted = childMib(embedded.pid);
  pool = createPool(embedded.url, 8);
});
afterAll(async () => {
  await pool?.end();
  await embedded?.stop();
  console.info(`RSS in MiB, of this process and of the Postgres process: ${JSON.stringify(rss)}`);
  await rm(dataDir, { recursive: true, force: true });
});

describe("embedded Postgres (PGlite over the wire protocol)", () => {
  it("takes ensureDatabase and the real migrations, once", async () => {
    await ensureDatabase(embedded.url);
    const applied = await migrate(embedded.url);
    rss.postgresMigrated = childMib(embedded.pid);
    expect(applied).toContain("1763900000001_credit-balances");
    expect(await migrate(embedded.url)).toEqual([]);
    const tables = await pool.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    expect(tables.rows.map((r) => r.tablename)).toEqual(expect.arrayContaining(["credit_accounts", "credit_transactions", "projection_checkpoints"]));
  });

  it("copyRows writes through COPY FROM STDIN inside a transaction; a duplicate key fails it with 23505", async () => {
    await pool.query("CREATE TABLE copied (id int PRIMARY KEY, note text, amount bigint)");
    const rows = Array.from({ length: 5_000 }, (_, i) => [i, i % 7 === 0 ? null : `row ${i}\twith\\tab\nand newline`, i * 1000]);
    const db = await pool.connect();
    try {
      await db.query("BEGIN");
      await copyRows(db, "copied", ["id", "note", "amount"], rows);
      await db.query("COMMIT");
      await db.query("BEGIN");
      await copyRows(db, "copied", ["id", "note", "amount"], [[5_000, "new", 1], [3, "again", 1]]).catch((err: { code?: string }) => {
        expect(err.code).toBe("23505");
      });
      await db.query("ROLLBACK");
    } finally {
      db.release();
    }
    const back = await pool.query("SELECT id, note, amount FROM copied ORDER BY id");
    expect(back.rows).toEqual(rows.map(([id, note, amount]) => ({ id, note, amount })));
  });

  it("keeps the statements of concurrent pool clients apart, even when their messages arrive in pieces", async () => {
    const big = (i: number) => String.fromCharCode(97 + (i % 26)).repeat(150_000 + i);
    const results = await Promise.all(
      Array.from({ length: 48 }, (_, i) =>
        i % 2
          ? pool.query("SELECT length($1::text) AS v, $2::int AS i", [big(i), i]).then((r) => r.rows[0])
          : pool.query("SELECT $1::int AS v, $1::int AS i", [i]).then((r) => r.rows[0]),
      ),
    );
    expect(results).toEqual(Array.from({ length: 48 }, (_, i) => ({ v: i % 2 ? 150_000 + i : i, i })));
  });

  it("isolates a transaction: other connections wait until it ends", async () => {
    await pool.query("CREATE TABLE isolated (id int)");
    const tx = await pool.connect();
    try {
      await tx.query("BEGIN");
      await tx.query("INSERT INTO isolated VALUES (1)");
      const outside = pool.query("SELECT count(*)::int AS n FROM isolated");
      await new Promise((r) => setTimeout(r, 100));
      await tx.query("INSERT INTO isolated VALUES (2)");
      await tx.query("COMMIT");
      expect((await outside).rows[0].n).toBe(2);
    } finally {
      tx.release();
    }
  });

  it("rolls back what a vanished client left open: a transaction, or an extended batch without Sync", async () => {
    await pool.query("CREATE TABLE abandoned (id int)");
    const client = new pg.Client({ connectionString: embedded.url });
    client.on("error", () => undefined);
    await client.connect();
    await client.query("BEGIN");
    await client.query("INSERT INTO abandoned VALUES (1)");
    (client as unknown as { connection: { stream: Socket } }).connection.stream.destroy();

    const raw = await rawSession(embedded.url);
    raw.write(Buffer.concat([frame("P", "\0INSERT INTO abandoned VALUES (2)\0\0\0"), frame("B", "\0\0\0\0\0\0\0\0"), frame("E", "\0\0\0\0\0")]));
    await new Promise((r) => setTimeout(r, 100));
    raw.destroy();

    expect((await pool.query("SELECT count(*)::int AS n FROM abandoned")).rows[0].n).toBe(0);
  });

  it("refuses COPY FROM STDIN where PGlite cannot take it, and goes on", async () => {
    await expect(pool.query("SELECT 1; COPY copied FROM STDIN")).rejects.toMatchObject({ code: "0A000" });
    await expect(pool.query({ text: "COPY copied FROM STDIN", queryMode: "extended" } as pg.QueryConfig)).rejects.toMatchObject({ code: "0A000" });
    expect((await pool.query("SELECT count(*)::int AS n FROM copied")).rows[0].n).toBe(5_000);
  });

  it("fails a statement that waits too long for another connection's transaction, with a Postgres error", async () => {
    const tx = await pool.connect();
    try {
      await tx.query("BEGIN");
      await expect(pool.query("SELECT 1")).rejects.toMatchObject({ code: "55P03" });
      await tx.query("COMMIT");
    } finally {
      tx.release();
    }
    expect((await pool.query("SELECT 2 AS two")).rows[0].two).toBe(2);
  });

  it("runs the live balances projection end to end", async () => {
    const nats = await startTestNats();
    try {
      const store = await createEventStore(await nats.connect());
      const live = startLiveProjection(balancesProjector, { store, pool, log: { quarantined: () => undefined } });
      const handle = commandHandler({ store, decider: creditAccountDecider, registry: creditEvents, sealer: inlineSealer(newSigner()) });
      const now = new Date("2026-11-23T10:00:00Z");
      for (let i = 0; i < 20; i++) await handle(creditSubject(`acct-${i % 4}`), { kind: "earn", amount: 1_000, reason: "subtask" }, { now });
      await handle(creditSubject("acct-0"), { kind: "hold", holdId: "task-1", amount: 2_000, reason: "task" }, { now });
      await live.waitFor("EC_CREDITS", await store.lastSeq("EC_CREDITS"));
      await live.stop();
      rss.nodeProjected = mib();
      rss.postgresProjected = childMib(embedded.pid);
      const accounts = await pool.query("SELECT account_id, available, held, event_count FROM credit_accounts ORDER BY account_id");
      expect(accounts.rows).toEqual([
        { account_id: "acct-0", available: 3_000, held: 2_000, event_count: 6 },
        { account_id: "acct-1", available: 5_000, held: 0, event_count: 5 },
        { account_id: "acct-2", available: 5_000, held: 0, event_count: 5 },
        { account_id: "acct-3", available: 5_000, held: 0, event_count: 5 },
      ]);
      expect((await pool.query("SELECT count(*)::int AS n FROM credit_transactions")).rows[0].n).toBe(21);
    } finally {
      await nats.close();
    }
  });

  it("refuses a second server on the same data folder while the first runs", async () => {
    await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(/embedded Postgres: process \d+ holds .*pglite\.lock/);
  });

  it("answers a connection over its limit with a Postgres error", async () => {
    const small = await mkdtemp(join(tmpdir(), "ec-pglite-"));
    const one = await startEmbeddedPostgres({ dataDir: small, maxConnections: 1 });
    const a = new pg.Client({ connectionString: one.url });
    const b = new pg.Client({ connectionString: one.url });
    try {
      await a.connect();
      await expect(b.connect()).rejects.toMatchObject({ code: "53300" });
    } finally {
      await a.end();
      await one.stop();
      await rm(small, { recursive: true, force: true });
    }
  });

  it("keeps the data across stop and start on the same folder", async () => {
    await pool.end();
    await embedded.stop();
    embedded = await startEmbeddedPostgres({ dataDir });
    rss.postgresRestarted = childMib(embedded.pid);
    pool = createPool(embedded.url, 8);
    expect(await migrate(embedded.url)).toEqual([]);
    expect((await pool.query("SELECT count(*)::int AS n FROM copied")).rows[0].n).toBe(5_000);
    expect((await pool.query("SELECT sum(available)::int AS s FROM credit_accounts")).rows[0].s).toBe(18_000);
  });

  it("stops cleanly on SIGTERM (Ctrl-C, a supervisor), tells the node, and starts again", async () => {
    await pool.end();
    await embedded.stop();
    let told!: (reason: string) => void;
    const exited = new Promise<string>((resolve) => (told = resolve));
    embedded = await startEmbeddedPostgres({ dataDir, onExit: (reason) => told(reason) });
    process.kill(embedded.pid, "SIGTERM");
    expect(await exited).toMatch(/exited \(code 0\)/);
    embedded = await startEmbeddedPostgres({ dataDir });
    pool = createPool(embedded.url, 8);
    expect((await pool.query("SELECT count(*)::int AS n FROM copied")).rows[0].n).toBe(5_000);
  });

  it("says clearly when the data folder is a file", async () => {
    const file = join(dataDir, "not-a-folder");
    await writeFile(file, "x");
    await expect(startEmbeddedPostgres({ dataDir: file })).rejects.toThrow(/data folder .*not-a-folder cannot be used/);
  });
});

function frame(type: string, body: string): Buffer {
  const b = Buffer.from(body, "latin1");
  const out = Buffer.alloc(5 + b.length);
  out.write(type, 0, "latin1");
  out.writeInt32BE(4 + b.length, 1);
  b.copy(out, 5);
  return out;
}

/** A bare protocol connection, past its startup, to send what `pg` never would. */
async function rawSession(url: string): Promise<Socket> {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  const params = Buffer.from("user\0postgres\0database\0postgres\0\0", "latin1");
  const startup = Buffer.alloc(8 + params.length);
  startup.writeInt32BE(startup.length, 0);
  startup.writeInt32BE(196608, 4);
  params.copy(startup, 8);
  socket.write(startup);
  await new Promise<void>((resolve, reject) => {
    let seen = Buffer.alloc(0);
    socket.on("error", reject);
    socket.on("data", function ready(chunk: Buffer) {
      seen = Buffer.concat([seen, chunk]);
      if (seen.length >= 6 && seen[seen.length - 6] === 0x5a) {
        socket.off("data", ready);
        resolve();
      }
    });
  });
  return socket;
}
