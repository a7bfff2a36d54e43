import { describe, expect, it } from "vitest";
import { countedModel, countedSandbox } from "../../src/adapters/metrics/counted.js";
import { ledgerLags, projectionLags } from "../../src/adapters/metrics/lag.js";
import { registerNodeGauges } from "../../src/adapters/metrics/nodeGauges.js";
import type { NodeObservations } from "../../src/adapters/metrics/observations.js";
import { nodeMetrics } from "../../src/adapters/metrics/registry.js";
import { ModelUnavailableError, type ModelProvider } from "../../src/adapters/models/ollamaProvider.js";
import type { Sandbox, SandboxResult } from "../../src/adapters/executor/sandboxContract.js";
import { defaultSandboxLimits } from "../../src/adapters/executor/sandboxContract.js";
import type { NodeStatus } from "../../src/app/status/nodeStatus.js";
import { bytes, columns, duration, statusTable } from "../../src/cli/statusTable.js";
import { controlPlaneUrlOf } from "../../src/cli/status.js";
import { gatewayLogger, terminalLog } from "../../src/gateways/gatewayLog.js";
import { nodeConfigFrom } from "../../src/node/config.js";
import { parsePrometheus, valueOf } from "../support/prometheus.js";

describe("EC_LOG_LEVEL", () => {
  const config = (env: Record<string, string>) => nodeConfigFrom({ dataDir: "/tmp/x" }, env);
  it("is info when unset or empty, and read in any case", () => {
    expect(config({}).logLevel).toBe("info");
    expect(config({ EC_LOG_LEVEL: "" }).logLevel).toBe("info");
    expect(config({ EC_LOG_LEVEL: "DEBUG" }).logLevel).toBe("debug");
    expect(config({ EC_LOG_LEVEL: " warn " }).logLevel).toBe("warn");
    expect(config({ EC_LOG_LEVEL: "silent" }).logLevel).toBe("silent");
  });
  it("a level pino does not have is a configuration error that names the variable and the levels", () => {
    expect(() => config({ EC_LOG_LEVEL: "verbose" })).toThrow(/^bad configuration: .*EC_LOG_LEVEL must be one of silent, fatal, error, warn, info, debug, trace/s);
  });
});

describe("the gateways' log", () => {
  it("is one JSON object per line: level by name, ISO time, service, request id, message", () => {
    const lines: string[] = [];
    const log = gatewayLogger("coordinator", (l) => lines.push(l), "info");
    log.child({ reqId: "r-1" }).info({ status: 200 }, "request");
    log.debug("not at info");
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("\n");
    expect(JSON.parse(lines[0]!)).toEqual({ level: "info", time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), service: "coordinator", reqId: "r-1", status: 200, msg: "request" });
  });
  it("is at warn unless told otherwise", () => {
    const lines: string[] = [];
    const log = gatewayLogger("inference", (l) => lines.push(l));
    log.info("a request");
    log.warn("a fault");
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["a fault"]);
  });
});

describe("the node's output", () => {
  const stream = (isTTY: boolean) => {
    const written: string[] = [];
    return { written, out: { isTTY, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream };
  };
  const json = JSON.stringify({ level: "info", time: "2026-12-03T10:00:00.000Z", service: "coordinator", reqId: "r-1", method: "GET", status: 200, msg: "request" });
  it("is the JSON itself, a line each, when it is not a terminal", async () => {
    const { written, out } = stream(false);
    const log = await terminalLog(out);
    log(json);
    log("coordinator on http://127.0.0.1:4301");
    expect(written).toEqual([`${json}\n`, "coordinator on http://127.0.0.1:4301\n"]);
  });
  it("is made readable in a terminal, the node's own lines left as they are", async () => {
    const { written, out } = stream(true);
    const log = await terminalLog(out);
    log(json);
    log("coordinator on http://127.0.0.1:4301");
    const plain = written.map((w) => w.replace(/\u001b\[[\d;]*m/g, ""));
    expect(plain[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: coordinator request .*reqId.*r-1.*\n$/);
    expect(plain[1]).toBe("coordinator on http://127.0.0.1:4301\n");
  });
});

describe("projection and ledger lag", () => {
  const streams = [
    { name: "EC_TASKS", lastSeq: 40 },
    { name: "EC_AGENTS", lastSeq: 7 },
  ];
  it("is the stream's last sequence minus the checkpoint, per projection and stream; no checkpoint counts from 0", () => {
    const projections = [
      { name: "tasks", streams: ["EC_TASKS"] },
      { name: "agents", streams: ["EC_AGENTS", "EC_NEW"] },
    ];
    expect(projectionLags(projections, [{ projection: "tasks", stream: "EC_TASKS", lastSeq: 35 }], streams)).toEqual([
      { projection: "tasks", stream: "EC_TASKS", checkpoint: 35, streamLastSeq: 40, lag: 5 },
      { projection: "agents", stream: "EC_AGENTS", checkpoint: 0, streamLastSeq: 7, lag: 7 },
      { projection: "agents", stream: "EC_NEW", checkpoint: 0, streamLastSeq: 0, lag: 0 },
    ]);
  });
  it("of the ledger is what each chainer consumer has not acknowledged; a stream no chainer read yet is all unchained", () => {
    const consumers = [
      { stream: "EC_TASKS", name: "chain-ec_tasks", pending: 3, ackPending: 2 },
      { stream: "EC_TASKS", name: "ec-task-flow", pending: 100, ackPending: 0 },
    ];
    expect(ledgerLags(["EC_TASKS", "EC_AGENTS"], consumers, streams, (s) => `chain-${s.toLowerCase()}`)).toEqual({ EC_TASKS: 5, EC_AGENTS: 7 });
  });
});

describe("counted model calls and sandbox runs", () => {
  it("counts each model call by outcome and times it", async () => {
    const m = nodeMetrics({ processMetrics: false });
    let fail: Error | undefined;
    const provider: ModelProvider = {
      model: "m1",
      available: async () => ["m1"],
      generate: async () => {
        if (fail) throw fail;
        return "answer";
      },
    };
    const counted = countedModel(provider, m);
    expect(await counted.generate("p")).toBe("answer");
    fail = new ModelUnavailableError("down");
    await expect(counted.generate("p")).rejects.toThrow("down");
    fail = new Error("odd");
    await expect(counted.generate("p")).rejects.toThrow("odd");
    const samples = parsePrometheus(await m.registry.metrics());
    for (const outcome of ["ok", "unavailable", "error"]) {
      expect(valueOf(samples, "ec_model_calls_total", { model: "m1", outcome })).toBe(1);
      expect(valueOf(samples, "ec_model_call_duration_seconds_count", { model: "m1", outcome })).toBe(1);
    }
  });

  it("counts each sandbox run by how it ended", async () => {
    const m = nodeMetrics({ processMetrics: false });
    const results: (Partial<SandboxResult> | Error)[] = [{ exitCode: 0 }, { exitCode: 1 }, { exitCode: null, signal: "SIGKILL", killedFor: "wall-time" }, new Error("no bwrap")];
    const sandbox: Sandbox = {
      mode: "bwrap",
      run: async () => {
        const next = results.shift()!;
        if (next instanceof Error) throw next;
        return { exitCode: null, signal: null, stdout: "", stderr: "", durationMs: 1, ...next };
      },
    };
    const counted = countedSandbox(sandbox, m);
    for (let i = 0; i < 3; i++) await counted.run("python", "print(1)", defaultSandboxLimits);
    await expect(counted.run("python", "print(1)", defaultSandboxLimits)).rejects.toThrow("no bwrap");
    const samples = parsePrometheus(await m.registry.metrics());
    for (const outcome of ["passed", "failed", "killed-wall-time", "error"]) expect(valueOf(samples, "ec_sandbox_runs_total", { mode: "bwrap", outcome })).toBe(1);
  });

  it("two nodes in one process count apart", async () => {
    const [a, b] = [nodeMetrics({ processMetrics: false }), nodeMetrics({ processMetrics: false })];
    a.httpRequests.inc({ service: "coordinator", method: "GET", route: "/x", status: "200" });
    expect(valueOf(parsePrometheus(await a.registry.metrics()), "ec_http_requests_total", { service: "coordinator", method: "GET", route: "/x", status: "200" })).toBe(1);
    expect(valueOf(parsePrometheus(await b.registry.metrics()), "ec_http_requests_total", { service: "coordinator", method: "GET", route: "/x", status: "200" })).toBeUndefined();
  });
});

const observations = (o: Partial<NodeObservations> = {}): NodeObservations => ({
  streams: [{ name: "EC_TASKS", messages: 10, bytes: 2048, firstSeq: 1, lastSeq: 10 }],
  consumers: [{ stream: "EC_TASKS", name: "ec-task-flow", pending: 1, ackPending: 0, redelivered: 4 }],
  projections: [{ projection: "tasks", stream: "EC_TASKS", checkpoint: 8, streamLastSeq: 10, lag: 2 }],
  queue: { tasks: { running: 1 }, subtasks: { queued: 2, assigned: 1 } },
  agents: { approved: 3 },
  ledger: { size: 9, headHash: "ab".repeat(32), lastCheckpoint: { size: 5, hash: "cd".repeat(32) }, lag: { EC_TASKS: 1 } },
  ...o,
});

describe("the gauges read on scrape", () => {
  it("show one observation, keep a status once seen at 0, and show nothing of a part that could not be read", async () => {
    const m = nodeMetrics({ processMetrics: false });
    let now = observations();
    let reads = 0;
    registerNodeGauges(m.registry, async () => (reads++, now));
    let s = parsePrometheus(await m.registry.metrics());
    expect(valueOf(s, "ec_subtasks", { status: "queued" })).toBe(2);
    expect(valueOf(s, "ec_projection_lag", { projection: "tasks", stream: "EC_TASKS" })).toBe(2);
    expect(valueOf(s, "ec_consumer_redelivered", { stream: "EC_TASKS", consumer: "ec-task-flow" })).toBe(4);
    expect(valueOf(s, "ec_ledger_records")).toBe(9);
    expect(valueOf(s, "ec_ledger_checkpoint_records")).toBe(5);
    expect(valueOf(s, "ec_ledger_lag", { stream: "EC_TASKS" })).toBe(1);
    expect(valueOf(s, "ec_stream_bytes", { stream: "EC_TASKS" })).toBe(2048);
    expect(reads).toBeGreaterThan(0);

    now = observations({ queue: { tasks: { completed: 1 }, subtasks: { completed: 3 } }, agents: { unavailable: "Postgres: no answer within 2000 ms" } });
    s = parsePrometheus(await m.registry.metrics());
    expect(valueOf(s, "ec_subtasks", { status: "queued" })).toBe(0);
    expect(valueOf(s, "ec_subtasks", { status: "completed" })).toBe(3);
    expect(s.filter((x) => x.name === "ec_agents")).toEqual([]);
    expect(valueOf(s, "ec_observation_up", { part: "agents" })).toBe(0);
    expect(valueOf(s, "ec_observation_up", { part: "queue" })).toBe(1);
  });
});

const status = (o: Partial<NodeStatus> = {}): NodeStatus => ({
  node: { publicKey: "PUBKEY", startedAt: "2026-12-03T10:00:00.000Z", urls: { coordinator: "http://127.0.0.1:4301", inference: "http://127.0.0.1:4302", controlPlane: "http://127.0.0.1:4303" } },
  health: { ok: true, checks: { postgres: { ok: true }, nats: { ok: true } } },
  ...observations(),
  ...o,
});

describe("edgecoder status's table", () => {
  const now = new Date("2026-12-03T11:02:03.000Z");
  it("shows every part, figures aligned right", () => {
    expect(statusTable(status(), now)).toBe(
      [
        "node           PUBKEY",
        "started        2026-12-03T10:00:00.000Z (up 1h 02m)",
        "coordinator    http://127.0.0.1:4301",
        "inference      http://127.0.0.1:4302",
        "control plane  http://127.0.0.1:4303",
        "",
        "dependencies: all up",
        "  nats      up",
        "  postgres  up",
        "",
        "streams",
        "  stream    messages    bytes  last seq",
        "  EC_TASKS        10  2.0 KiB        10",
        "",
        "projections",
        "  projection  stream    checkpoint  last seq  lag",
        "  tasks       EC_TASKS           8        10    2",
        "",
        "queue",
        "  tasks     running 1",
        "  subtasks  assigned 1, queued 2",
        "",
        "agents",
        "  approved 3",
        "",
        "ledger",
        "  head             9 records, abababababababab...",
        "  last checkpoint  5 records, cdcdcdcdcdcdcdcd...",
        "  not chained yet  EC_TASKS 1",
        "",
        "consumers",
        "  stream    consumer      pending  unacked  redelivered",
        "  EC_TASKS  ec-task-flow        1        0            4",
      ].join("\n"),
    );
  });

  it("says what is down and which parts could not be read, and why", () => {
    const text = statusTable(
      status({ health: { ok: false, checks: { postgres: { ok: false, reason: "connection refused" }, nats: { ok: true } } }, queue: { unavailable: "Postgres: connection refused" }, ledger: { size: 0, headHash: "0".repeat(64), lastCheckpoint: null, lag: {} } }),
      now,
    );
    expect(text).toContain("dependencies: SOMETHING IS DOWN\n  nats      up\n  postgres  DOWN: connection refused");
    expect(text).toContain("queue\n  unavailable: Postgres: connection refused");
    expect(text).toContain("  head             0 records, empty\n  last checkpoint  none yet\n  not chained yet  none");
  });

  it("formats sizes, durations and columns", () => {
    expect([bytes(0), bytes(1023), bytes(1536), bytes(5 * 1024 ** 3)]).toEqual(["0 B", "1023 B", "1.5 KiB", "5.0 GiB"]);
    expect([duration(0), duration(59_999), duration(61_000), duration(3 * 3600_000 + 4 * 60_000)]).toEqual(["0s", "59s", "1m 01s", "3h 04m"]);
    expect(columns([["a", "1"], ["bbb", "22"]], { right: [1] })).toEqual(["  a     1", "  bbb  22"]);
  });

  it("finds the control plane on loopback when the node binds every address", () => {
    expect(controlPlaneUrlOf("0.0.0.0", 4303)).toBe("http://127.0.0.1:4303");
    expect(controlPlaneUrlOf("10.0.0.5", 14303)).toBe("http://10.0.0.5:14303");
    expect(controlPlaneUrlOf("::1", 4303)).toBe("http://[::1]:4303");
  });
});

describe("EC_ADMIN_ALLOWLIST", () => {
  const config = (v: string) => nodeConfigFrom({ dataDir: "/tmp/x" }, { EC_ADMIN_ALLOWLIST: v });
  it("takes addresses and CIDR ranges of both families, and names a bad entry", () => {
    expect(config("127.0.0.1, 10.0.0.0/8,::1,fd00::/8").adminAllowlist).toBe("127.0.0.1, 10.0.0.0/8,::1,fd00::/8");
    expect(config("").adminAllowlist).toBe("");
    for (const bad of ["localhost", "10.0.0.0/33", "::1/129", "1.2.3.4/8/2", "10.0.0.0/x"]) expect(() => config(bad), bad).toThrow(/EC_ADMIN_ALLOWLIST|comma-separated addresses/);
  });
});
