import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findUndeclaredSubjects } from "../../src/adapters/nats/subjectFormat.js";
import { CHAIN_SUBJECT } from "../../src/domain/ledger/record.js";
import { subtaskSubject } from "../../src/domain/tasks/subtask.js";
import { taskSubject } from "../../src/domain/tasks/task.js";
import { nodeConfigFrom } from "../../src/node/config.js";
import { startNode, StartRefusedError } from "../../src/node/startNode.js";
import { startTestNats, type TestNats } from "../support/nats.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

describe("a data folder written with the older subject format", () => {
  let nats: TestNats;
  let db: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    [nats, db] = await Promise.all([startTestNats(), createTestDatabase()]);
    dataDir = await mkdtemp(join(tmpdir(), "ec-old-format-"));
  });
  afterAll(async () => {
    await Promise.all([nats?.close(), db?.drop()]);
    await rm(dataDir, { recursive: true, force: true });
  });

  it("finds nothing on streams of today's subjects, singletons included", async () => {
    const js = jetstream(await nats.connect());
    for (const subject of [taskSubject("t1"), subtaskSubject("t1-0"), CHAIN_SUBJECT]) await js.publish(subject, "[]");
    expect(await findUndeclaredSubjects(await nats.connect())).toEqual([]);
  });

  it("is refused at start with a message naming the fix, and the streams are left as they were", async () => {
    const nc = await nats.connect();
    const js = jetstream(nc);
    // ec.<context>.<id>: how subjects were spelled before they named their aggregate.
    await js.publish("ec.tasks.t-old", "[]");
    await js.publish("ec.credits.alice", "[]");
    await js.publish("ec.ledger.mystery", "[]");
    const found = await findUndeclaredSubjects(nc);
    expect(found.map((f) => f.subject).sort()).toEqual(["ec.credits.alice", "ec.ledger.mystery", "ec.tasks.t-old"]);
    expect(found.find((f) => f.subject === "ec.tasks.t-old")).toMatchObject({ stream: "EC_TASKS", messages: 1 });

    const config = nodeConfigFrom({ dataDir, natsUrl: nats.url, databaseUrl: db.url, coordinatorPort: 0, inferencePort: 0, controlPlanePort: 0, worker: false }, {});
    const start = startNode(config, () => undefined);
    await expect(start).rejects.toBeInstanceOf(StartRefusedError);
    await expect(start).rejects.toThrow(/format this version does not read.*fresh data folder/s);
    // Nothing was migrated, dropped or appended on the way out.
    expect((await findUndeclaredSubjects(nc)).length).toBe(3);
  });
});
