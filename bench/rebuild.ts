import { execFile } from "node:child_process";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import type { NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { createEventStore } from "../src/adapters/nats/eventStore.js";
import { packageRoot } from "../src/adapters/packageRoot.js";

const run = promisify(execFile);

export interface ReplayStats {
  commits: number;
  events: number;
  ms: number;
  peakRssMiB: number;
}

/** `edgecoder replay --stats` in its own process (the built CLI), so its peak RSS is its own. */
export async function replayInChild(natsUrl: string, databaseUrl: string): Promise<ReplayStats> {
  const { stdout } = await run(
    process.execPath,
    [join(packageRoot, "dist", "cli", "main.js"), "--nats-url", natsUrl, "--database-url", databaseUrl, "replay", "--projection", "credit_balances", "--no-progress", "--stats"],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as ReplayStats;
}

/** Raw limit: read the stream with an ordered consumer and COPY one row per commit, nothing else. */
export async function rawCopyRate(nc: NatsConnection, databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query("CREATE UNLOGGED TABLE IF NOT EXISTS bench_raw_copy (seq bigint, subject text, payload text)");
  await client.query("TRUNCATE bench_raw_copy");
  const store = await createEventStore(nc);
  const started = performance.now();
  await client.query("BEGIN");
  let rows = 0;
  const lines = async function* () {
    for await (const c of store.read("EC_CREDITS")) {
      rows++;
      const text = Buffer.from(c.data).toString("utf8").replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n");
      yield `${c.seq}\t${c.subject}\t${text}\n`;
    }
  };
  await pipeline(Readable.from(lines()), client.query(copyFrom("COPY bench_raw_copy (seq, subject, payload) FROM STDIN")));
  await client.query("COMMIT");
  const rate = rows / ((performance.now() - started) / 1000);
  await client.query("DROP TABLE bench_raw_copy");
  await client.end();
  return rate;
}
