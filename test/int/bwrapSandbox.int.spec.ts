import { execSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateIdentity } from "../../src/adapters/crypto/nodeIdentity.js";
import { detectCgroupHostOnce, runInBwrap } from "../../src/adapters/executor/bwrapSandbox.js";
import { defaultSandboxLimits, runMemoryBytes } from "../../src/adapters/executor/sandboxContract.js";
import { removeOrphanedRunCgroups, runCgroupName } from "../../src/adapters/executor/cgroups.js";
import { createSandbox } from "../../src/adapters/executor/sandbox.js";
import { describeSandboxEscapes } from "../support/sandboxEscapes.js";

const quick = { ...defaultSandboxLimits, wallMs: 3_000 };
let dataDir: string;
let keyFile: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "ec-node-data-"));
  keyFile = (await loadOrCreateIdentity(dataDir)).file;
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/**
 * Live processes left behind by any sandbox (they run as uids from 200000 up). Zombies do not
 * count: they run nothing, and this VM's pid 1 does not reap orphans.
 */
const sandboxProcesses = () =>
  execSync("ps -eo uid=,stat=", { encoding: "utf8" })
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([uid, stat]) => Number(uid) >= 200_000 && !stat?.startsWith("Z")).length;

describe("bubblewrap sandbox", () => {
  it("runs Python and JavaScript and returns their output and exit status", async () => {
    expect(await runInBwrap("python", "print(sum(range(10)))")).toMatchObject({ exitCode: 0, stdout: "45\n" });
    expect(await runInBwrap("javascript", "console.log([1, 2, 3].map((x) => x * 2).join(','))")).toMatchObject({ exitCode: 0, stdout: "2,4,6\n" });
    const failed = await runInBwrap("python", "print(1 / 0)");
    expect(failed.exitCode).not.toBe(0);
    expect(failed.stderr).toContain("ZeroDivisionError");
  });

  it("has no network: the host's Postgres port is unreachable", async () => {
    const py = await runInBwrap(
      "python",
      "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 5432), timeout=2)\n    print('connected')\nexcept OSError as e:\n    print('blocked', type(e).__name__)",
    );
    expect(py.stdout).toMatch(/^blocked/);
    const js = await runInBwrap(
      "javascript",
      "import net from 'node:net'; const s = net.connect(5432, '127.0.0.1'); s.on('connect', () => { console.log('connected'); s.destroy(); }); s.on('error', (e) => console.log('blocked', e.code));",
    );
    expect(js.stdout).toMatch(/^blocked/);
  });

  it("cannot write outside its work folder; its /tmp is private", async () => {
    const marker = `ec-sandbox-marker-${process.pid}`;
    const r = await runInBwrap(
      "python",
      [
        "for path in ['/usr/evil', '/etc/evil', '/evil']:",
        "    try:",
        "        open(path, 'w').write('x'); print('wrote', path)",
        "    except OSError as e:",
        "        print('refused', path)",
        `open('/tmp/${marker}', 'w').write('private')`,
        "open('/work/out.txt', 'w').write('ok'); print('work ok')",
      ].join("\n"),
    );
    expect(r.stdout).toBe("refused /usr/evil\nrefused /etc/evil\nrefused /evil\nwork ok\n");
    expect(existsSync(join(tmpdir(), marker))).toBe(false);
    expect(existsSync("/usr/evil")).toBe(false);
  });

  it("cannot read the node's key file", async () => {
    const r = await runInBwrap("python", `try:\n    print(open(${JSON.stringify(keyFile)}).read())\nexcept OSError as e:\n    print('refused', type(e).__name__)`);
    expect(r.stdout).toBe("refused FileNotFoundError\n");
    expect(r.stdout).not.toContain("PRIVATE KEY");
  });

  it("contains a fork bomb: stopped by the process limit and killed at the wall time, nothing left behind", async () => {
    const started = Date.now();
    const r = await runInBwrap("python", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass", quick);
    // Killed at the wall time, not left to run: generous, as a loaded machine is slow to reap a bomb.
    expect(Date.now() - started).toBeLessThan(quick.wallMs + 6_000);
    expect(r.killedFor).toBe("wall-time");
    expect(sandboxProcesses()).toBe(0);
  });

  it("contains memory bombs in both languages", async () => {
    const py = await runInBwrap("python", "x = []\ntry:\n    while True: x.append(bytearray(10**7))\nexcept MemoryError:\n    print('stopped at', len(x) * 10, 'MB')", quick);
    const mb = Number(/stopped at (\d+) MB/.exec(py.stdout)?.[1]);
    expect(mb).toBeLessThanOrEqual(defaultSandboxLimits.memoryMb);
    const js = await runInBwrap("javascript", "const a = []; for (;;) a.push('x'.repeat(1e6) + a.length);", quick);
    expect(js.exitCode).not.toBe(0);
    expect(js.stderr + (js.signal ?? "")).toMatch(/heap|memory|SIG/i);
  });

  it("kills an endless loop at the wall time, and at the CPU limit when that comes first", async () => {
    const wall = await runInBwrap("python", "while True: pass", { ...quick, wallMs: 1_500 });
    expect(wall.killedFor).toBe("wall-time");
    expect(wall.durationMs).toBeLessThan(3_000);
    const cpu = await runInBwrap("javascript", "for (;;) {}", { ...quick, cpuSeconds: 1, wallMs: 10_000 });
    expect(cpu.killedFor).toBeUndefined();
    expect(cpu.exitCode).not.toBe(0);
    expect(cpu.durationMs).toBeLessThan(5_000);
  });

  it("stops a flood of output at the output limit", async () => {
    const r = await runInBwrap("python", "while True: print('x' * 1000)", { ...quick, outputBytes: 100_000 });
    expect(r.killedFor).toBe("output");
    expect(r.stdout.length).toBeLessThanOrEqual(100_000);
  });
});

describeSandboxEscapes(
  "bubblewrap sandbox",
  async () => {
    const sandbox = await createSandbox({ mode: "bwrap", agentMode: "worker", sandboxRequired: true });
    expect(sandbox.warning).toBeUndefined();
    return sandbox;
  },
  { limits: { ...defaultSandboxLimits, wallMs: 5_000 }, writableMb: 2 * defaultSandboxLimits.scratchMb + defaultSandboxLimits.shmMb, runMemoryMb: runMemoryBytes(defaultSandboxLimits) / (1024 * 1024) },
);

describe("bubblewrap sandbox: one bound for all of a run's processes", () => {
  it("stops processes that stay under the per-process limit but together exceed the run's, and says so", async () => {
    const r = await runInBwrap(
      "python",
      [
        "import os, time",
        "for i in range(6):",
        "    if os.fork() == 0:",
        "        b = bytearray(180 << 20)",
        "        for j in range(0, len(b), 4096): b[j] = 1",
        "        print('child filled', i, flush=True)",
        "        time.sleep(3)",
        "        os._exit(0)",
        "for i in range(6): os.wait()",
      ].join("\n"),
      { ...defaultSandboxLimits, wallMs: 20_000, cpuSeconds: 20 },
    );
    expect(r.killedFor).toBe("memory");
    expect((r.stdout.match(/child filled/g) ?? []).length).toBeLessThan(6);
  });

  it("leaves no cgroup of its runs behind, and removes those of a node that died mid-run", async () => {
    const host = await detectCgroupHostOnce();
    expect(host).toBeDefined();
    const mine = async () => (await Promise.all(host!.parents.map((p) => readdir(p)))).flat().filter((d) => d.startsWith(`ec-sandbox-${process.pid}-`));
    await runInBwrap("python", "print(1)");
    expect(await mine()).toEqual([]);
    // A dead node's: a pid that cannot be alive (above pid_max).
    const dead = await host!.create(runCgroupName(4_194_305, 1), { memoryBytes: 64 << 20, pids: 4 });
    const live = await host!.create(runCgroupName(process.pid, 999_999), { memoryBytes: 64 << 20, pids: 4 });
    try {
      expect(await removeOrphanedRunCgroups(host!)).toBe(1);
      const left = (await Promise.all(host!.parents.map((p) => readdir(p)))).flat();
      expect(left).not.toContain(runCgroupName(4_194_305, 1));
      expect(left).toContain(runCgroupName(process.pid, 999_999));
    } finally {
      await Promise.all([dead.remove(), live.remove()]);
    }
  });
});
