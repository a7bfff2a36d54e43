import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNode, type TestNode } from "../support/node.js";

const canaries = { ADMIN_API_TOKEN: "canary-admin-7d1f", EC_CLOUD_API_KEY: "canary-cloud-93ab", AWS_SECRET_ACCESS_KEY: "canary-aws-55c2" };

describe("the node's own worker", () => {
  let t: TestNode;
  const saved = Object.fromEntries(Object.keys(canaries).map((k) => [k, process.env[k]]));
  beforeAll(async () => {
    Object.assign(process.env, canaries);
    t = await startTestNode();
  });
  afterAll(async () => {
    await t?.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("is forked without the node's secrets or database and NATS addresses", async () => {
    const pid = t.node.workerPids().at(-1)!;
    const environ = (await readFile(`/proc/${pid}/environ`, "utf8")).split("\0");
    expect(environ.some((e) => e.startsWith("EC_COORDINATOR_URL="))).toBe(true);
    for (const secret of [...Object.values(canaries), t.node.adminToken, t.node.databaseUrl, t.node.natsUrl]) {
      expect(environ.join("\n")).not.toContain(secret);
    }
  });
});
