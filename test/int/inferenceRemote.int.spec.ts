import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeConfigFrom } from "../../src/node/config.js";
import { splitsIntoTwoPrints } from "../support/fakeOllama.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";

/**
 * A node that decomposes and escalates with another node's inference service (INFERENCE_URL)
 * sends that node's token (INFERENCE_TOKEN); the service answers nothing without it.
 */

let serving: TestNode;
let using: TestNode;

beforeAll(async () => {
  serving = await startTestNode({ worker: false });
  serving.model.answer = splitsIntoTwoPrints("print(1)");
  using = await startTestNode({ worker: false, inferenceUrl: serving.node.inferenceUrl, inferenceToken: serving.node.adminToken });
}, 120_000);
afterAll(async () => {
  await using?.close();
  await serving?.close();
});

describe("another node's inference service", () => {
  it("decomposes this node's tasks with its model, given its token", async () => {
    const asked = { serving: serving.model.requests.length, using: using.model.requests.length };
    const submitted = await using.admin("POST", "/submit", { prompt: "print 1 and then 2", language: "python" });
    expect(submitted.status).toBe(202);
    const taskId = submitted.body.taskId as string;
    await eventually("the task's two subtasks queued", async () => {
      const r = await using.db.pool.query("SELECT 1 FROM subtasks WHERE task_id = $1 AND status = 'queued'", [taskId]);
      return r.rowCount === 2 ? true : undefined;
    });
    expect(serving.model.requests.length).toBeGreaterThan(asked.serving);
    expect(using.model.requests.slice(asked.using).filter((r) => r.path === "/api/generate")).toEqual([]);
  });

  it("refuses this node's own token, and any request without the serving node's", async () => {
    for (const authorization of [undefined, `Bearer ${using.node.adminToken}`]) {
      const res = await fetch(new URL("/decompose", serving.node.inferenceUrl), {
        method: "POST",
        headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ prompt: "print 1" }),
      });
      expect({ authorization, status: res.status, body: await res.json() }).toEqual({
        authorization,
        status: 401,
        body: { error: "unauthorized", message: expect.stringMatching(/the node's token .* is required/) },
      });
    }
  });

  it("INFERENCE_URL without INFERENCE_TOKEN is a configuration error, named at start", () => {
    expect(() => nodeConfigFrom({}, { INFERENCE_URL: "http://127.0.0.1:4302" })).toThrow("bad configuration: INFERENCE_URL needs INFERENCE_TOKEN (the admin token of the node serving it)");
    expect(nodeConfigFrom({}, { INFERENCE_URL: "http://127.0.0.1:4302", INFERENCE_TOKEN: "t".repeat(16) })).toMatchObject({ inferenceToken: "t".repeat(16) });
    expect(() => nodeConfigFrom({}, { INFERENCE_URL: "http://127.0.0.1:4302", INFERENCE_TOKEN: "short" })).toThrow(/inferenceToken/);
  });
});
