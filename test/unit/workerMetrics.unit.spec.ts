import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { requestMetrics } from "../../src/adapters/metrics/ipcMetrics.js";
import { exposition, nodeMetrics, workerMetrics } from "../../src/adapters/metrics/registry.js";
import { parsePrometheus, valueOf } from "../support/prometheus.js";

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

/** A child process with an IPC channel that runs `body` (plain JavaScript, `process` in scope). */
function child(body: string) {
  const c = spawn(process.execPath, ["-e", body], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.push(c);
  return c;
}

describe("the node's /metrics with its worker's", () => {
  it("given a worker that counted runs, when the node is scraped, then both sets show, the worker's labelled process=worker", async () => {
    const node = nodeMetrics({ processMetrics: false });
    const worker = workerMetrics();
    node.sandboxRuns.inc({ mode: "bwrap", outcome: "passed" });
    worker.sandboxRuns.inc({ mode: "bwrap", outcome: "passed" }, 3);
    worker.modelCalls.inc({ model: "m", outcome: "ok" }, 2);
    node.sources.add(() => worker.registry.getMetricsAsJSON());
    const s = parsePrometheus(await exposition(node));
    expect(valueOf(s, "ec_sandbox_runs_total", { mode: "bwrap", outcome: "passed" })).toBe(1);
    expect(valueOf(s, "ec_sandbox_runs_total", { mode: "bwrap", outcome: "passed", process: "worker" })).toBe(3);
    expect(valueOf(s, "ec_model_calls_total", { model: "m", outcome: "ok", process: "worker" })).toBe(2);
  });

  it("when the worker cannot answer, the node's own metrics are served all the same", async () => {
    const node = nodeMetrics({ processMetrics: false });
    node.modelCalls.inc({ model: "m", outcome: "ok" });
    node.sources.add(() => Promise.reject(new Error("restarting")));
    expect(valueOf(parsePrometheus(await exposition(node)), "ec_model_calls_total", { model: "m", outcome: "ok" })).toBe(1);
  });
});

describe("asking a child process for its metrics over IPC", () => {
  it("gets what the child's registry holds", async () => {
    const c = child(`process.on("message", (m) => process.send({ kind: "metrics", id: m.id, metrics: [{ name: "ec_sandbox_runs_total", help: "h", type: "counter", aggregator: "sum", values: [{ value: 4, labels: { mode: "bwrap", outcome: "passed", process: "worker" } }] }] }));`);
    const got = await requestMetrics(c);
    expect(got).toEqual([expect.objectContaining({ name: "ec_sandbox_runs_total", values: [expect.objectContaining({ value: 4 })] })]);
  });

  it("refuses an answer of the wrong shape and gives up after the timeout", async () => {
    const c = child(`process.on("message", (m) => process.send({ kind: "metrics", id: m.id, metrics: [{ name: "bad name!", values: "x" }] }));`);
    await expect(requestMetrics(c, 300)).rejects.toThrow(/within 300 ms/);
  });

  it("rejects at once when the child exits before answering", async () => {
    const c = child(`process.on("message", () => process.exit(0));`);
    await expect(requestMetrics(c, 5_000)).rejects.toThrow(/exited/);
  });
});
