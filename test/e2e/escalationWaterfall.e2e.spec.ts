import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventStore } from "../../src/adapters/nats/eventStore.js";
import { startFakeOpenAi, type FakeOpenAi } from "../support/fakeOpenAi.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";

const FAILING = "```python\nprint(undefined_name)\n```";

/**
 * The waterfall's order across real nodes: this node's model, then its parent coordinator (a
 * second node, asked through its POST /escalate), then an OpenAI-compatible cloud endpoint.
 */
describe("the escalation waterfall: inference, parent coordinator, cloud", () => {
  let parent: TestNode;
  let child: TestNode;
  let cloud: FakeOpenAi;
  let parentAnswer = FAILING;
  beforeAll(async () => {
    cloud = await startFakeOpenAi();
    cloud.reply = () => ({ content: "```python\nprint('from the cloud')\n```" });
    parent = await startTestNode({ worker: false });
    parent.model.answer = () => parentAnswer;
    child = await startTestNode({
      maxAttempts: 1,
      parentCoordinatorUrl: parent.node.coordinatorUrl,
      parentCoordinatorToken: parent.node.adminToken,
      cloudBaseUrl: cloud.baseURL,
      cloudApiKey: "test-key",
      cloudModel: "gpt-test",
    });
    child.model.answer = (prompt) => (prompt.includes("JSON array") ? JSON.stringify([{ input: "print a greeting", language: "python" }]) : FAILING);
  }, 180_000);
  afterAll(async () => {
    await child?.close();
    await parent?.close();
    await cloud?.close();
  });

  /** The escalation events of a subtask, as "type:via". */
  const steps = async (subtaskId: string) => {
    const { commits } = await (await createEventStore(await child.nats.connect("reader"))).readAggregate(`ec.tasks.subtask.${subtaskId}`);
    return commits
      .flatMap((c) => JSON.parse(new TextDecoder().decode(c.data)) as { type: string; data: { via?: string } }[])
      .filter((e) => e.data.via)
      .map((e) => `${e.type.replace("subtask.", "")}:${e.data.via}`);
  };

  const run = async () => {
    const taskId = (await child.admin("POST", "/submit", { prompt: "print a greeting" })).body.taskId as string;
    const result = await eventually(
      "the task to finish",
      async () => {
        const r = await child.admin("GET", `/tasks/${taskId}/result`);
        return r.body.done ? r.body : undefined;
      },
      60_000,
    );
    const escalation = (await child.admin("GET", `/escalate/${taskId}-0`)).body;
    return { result, escalation };
  };

  it("the parent coordinator's model fixes what this node's could not", async () => {
    parentAnswer = "```python\nprint('from the parent')\n```";
    const { result, escalation } = await run();
    expect(result.status).toBe("completed");
    expect(result.output).toContain("from the parent\n");
    expect(escalation).toMatchObject({ status: "resolved" });
    expect(await steps(escalation.subtaskId as string)).toEqual(["escalationTried:inference", "resolved:parent"]);
    expect(parent.model.requests.some((r) => String(r.body.prompt ?? "").includes("undefined_name"))).toBe(true);
  }, 90_000);

  it("when the parent fails too, the cloud endpoint is asked, with every failed try", async () => {
    parentAnswer = FAILING;
    const before = cloud.requests.length;
    const { result } = await run();
    expect(result.status).toBe("completed");
    expect(result.output).toContain("from the cloud\n");
    expect(await steps(`${result.taskId}-0`)).toEqual(["escalationTried:inference", "escalationTried:parent", "resolved:cloud"]);
    const asked = cloud.requests.slice(before);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.body.model).toBe("gpt-test");
    expect(asked[0]!.headers.authorization).toBe("Bearer test-key");
    // The history holds the worker's try and the two escalation steps' failed code.
    expect(asked[0]!.body.messages.at(-1)!.content.match(/undefined_name/g)?.length).toBeGreaterThanOrEqual(3);
  }, 90_000);
});
