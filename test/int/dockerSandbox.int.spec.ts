import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import Docker from "dockerode";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultSandboxLimits, runMemoryBytes } from "../../src/adapters/executor/sandboxContract.js";
import {
  BUILD_IMAGES_COMMAND,
  DEADLINE_LABEL,
  defaultDockerSocket,
  dockerSandbox,
  DockerImageMissingError,
  DockerUnavailableError,
  isLeftover,
  SANDBOX_LABEL,
  sandboxImage,
} from "../../src/adapters/executor/dockerSandbox.js";
import { createSandbox, limitsForTimeout, type SandboxLimits } from "../../src/adapters/executor/sandbox.js";
import { describeSandboxEscapes } from "../support/sandboxEscapes.js";

const MiB = 1024 * 1024;

describe("docker sandbox without an engine", () => {
  const socketPath = "/nonexistent/edgecoder-test/docker.sock";

  it("fails a run with 'no Docker engine reachable at ...' and the command that provides one", async () => {
    const run = dockerSandbox({ socketPath }).run("python", "print(1)", limitsForTimeout(5_000));
    await expect(run).rejects.toBeInstanceOf(DockerUnavailableError);
    await expect(run).rejects.toThrow(`no Docker engine reachable at unix://${socketPath}`);
    await expect(run).rejects.toThrow(BUILD_IMAGES_COMMAND);
  });

  it("is refused when chosen, so a worker does not start with a sandbox that cannot run anything", async () => {
    await expect(createSandbox({ mode: "docker", agentMode: "worker", sandboxRequired: true, docker: { socketPath } })).rejects.toThrow(
      /sandbox "docker" is refused: no Docker engine reachable at unix:\/\/\/nonexistent\/edgecoder-test\/docker\.sock/,
    );
  });
});

describe("docker sandbox: which containers are leftovers", () => {
  const now = 1_000_000;
  const labelled = (State: string, deadline: number | string = now + 1) => ({ State, Labels: { [SANDBOX_LABEL]: "python", [DEADLINE_LABEL]: String(deadline) } });

  it("given an ended container, whoever started it is done with it", () => {
    expect(isLeftover(labelled("exited"), now)).toBe(true);
    expect(isLeftover(labelled("dead"), now)).toBe(true);
  });

  it("given a created or running container, it is another node's live run until its deadline", () => {
    for (const state of ["created", "running", "paused", "restarting"]) {
      expect(isLeftover(labelled(state, now + 1), now)).toBe(false);
      expect(isLeftover(labelled(state, now - 1), now)).toBe(true);
    }
    expect(isLeftover(labelled("running", "not a time"), now)).toBe(true);
  });

  it("given a container that is not the sandbox's, it is never touched", () => {
    expect(isLeftover({ State: "exited", Labels: { other: "x" } }, now)).toBe(false);
  });
});

/**
 * The engine the tests use: the one `npm test` starts (scripts/docker-for-tests.sh). Where it
 * could not start, that script wrote why, and the tests below are skipped with that reason; an
 * engine that is merely not started yet fails them, naming the command that starts it.
 */
const socketPath = process.env.EC_DOCKER_SOCKET ?? defaultDockerSocket;
const skipReason = await (async () => {
  try {
    await dockerSandbox({ socketPath }).ping();
    return undefined;
  } catch (err) {
    const why = await readFile("tools/docker-sandbox-unavailable", "utf8").catch(() => undefined);
    if (why === undefined) return undefined;
    return `${why.trim()} (${(err as Error).message})`;
  }
})();
if (skipReason) console.warn(`docker sandbox tests skipped: ${skipReason}`);

const limits: SandboxLimits = { ...defaultSandboxLimits, wallMs: 5_000 };
const engine = new Docker({ socketPath });
const sandboxContainers = () => engine.listContainers({ all: true, filters: { label: [SANDBOX_LABEL] } });
const tag = () => `ec-docker-${randomBytes(6).toString("hex")}`;

describe.skipIf(skipReason)(skipReason ? `docker sandbox with an engine (skipped: ${skipReason})` : "docker sandbox with an engine", () => {
  const sandbox = dockerSandbox({ socketPath });
  beforeAll(() => sandbox.ping(), 30_000);

  it("runs Python and JavaScript and returns their output and exit code", async () => {
    const py = await sandbox.run("python", "import sys\nprint(sum(range(10)))\nprint('é' * 50000, file=sys.stderr)\nsys.exit(3)", limits);
    expect(py).toMatchObject({ exitCode: 3, signal: null, stdout: "45\n", stderr: `${"é".repeat(50000)}\n` });
    expect(py.killedFor).toBeUndefined();
    const js = await sandbox.run("javascript", "console.log([1, 2, 3].map((x) => x * 2).join(','))", limits);
    expect(js).toMatchObject({ exitCode: 0, signal: null, stdout: "2,4,6\n", stderr: "" });
    const failed = await sandbox.run("python", "print(1 / 0)", limits);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain("ZeroDivisionError");
    expect(failed.stderr).toContain('File "/work/main.py"');
  });

  it("gives the program only the environment it sets, whatever the node's holds (DOCKER_HOST included)", async () => {
    const canary = `canary-${tag()}`;
    const saved = { ...process.env };
    Object.assign(process.env, { ADMIN_API_TOKEN: canary, DOCKER_HOST: "tcp://127.0.0.1:9", DOCKER_TLS_VERIFY: "1", DOCKER_PATH_PREFIX: "/evil" });
    try {
      // Made while the node's environment points elsewhere: the request still goes to the socket.
      const fresh = dockerSandbox({ socketPath });
      const r = await fresh.run("python", "import json, os\nprint(json.dumps(sorted(os.environ)))\nprint(open('/proc/1/environ').read())", limits);
      expect(r.exitCode).toBe(0);
      expect(JSON.parse(r.stdout.split("\n")[0]!)).toEqual(["HOME", "HOSTNAME", "LANG", "PATH", "PWD", "PYTHONHASHSEED"]);
      expect(r.stdout).not.toContain(canary);
    } finally {
      for (const k of ["ADMIN_API_TOKEN", "DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_PATH_PREFIX"]) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  it("runs as nobody with no capabilities, no privilege gain, a read-only root and nothing of the host mounted", async () => {
    const r = await sandbox.run(
      "python",
      [
        "import os",
        "print('uid', os.getuid(), os.getgid(), os.getgroups())",
        "status = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read().splitlines() if ':\\t' in l)",
        "for k in ['CapEff', 'CapPrm', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp']:",
        "    print(k, status[k].strip())",
        "for line in open('/proc/self/mountinfo'):",
        "    left, right = line.split(' - ')",
        "    print('mount', left.split()[4], right.split()[0], left.split()[5].split(',')[0])",
        "for p in ['/', '/etc', '/usr', '/work/..']:",
        "    try:",
        "        open(os.path.join(p, 'x'), 'w'); print('wrote', p)",
        "    except OSError as e:",
        "        print('refused', p, e.errno)",
        "print('resolv', open('/etc/resolv.conf').read().split())",
      ].join("\n"),
      limits,
    );
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("uid 65534 65534 [65534]\n");
    for (const cap of ["CapEff", "CapPrm", "CapBnd", "CapAmb"]) expect(r.stdout).toContain(`${cap} 0000000000000000\n`);
    expect(r.stdout).toContain("NoNewPrivs 1\n");
    expect(r.stdout).toContain("Seccomp 2\n");
    expect(r.stdout).not.toMatch(/^wrote/m);
    const mounts = [...r.stdout.matchAll(/^mount (\S+) (\S+) (\S+)$/gm)].map(([, point, fs, mode]) => ({ point: point!, fs: fs!, mode: mode! }));
    expect(mounts.find((m) => m.point === "/")).toMatchObject({ fs: "overlay", mode: "ro" });
    // The only file from a disk is the engine's own /etc/hostname for the container, read-only.
    const fromDisk = mounts.filter((m) => !["overlay", "proc", "tmpfs", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2"].includes(m.fs));
    expect(fromDisk).toEqual([{ point: "/etc/hostname", fs: expect.any(String), mode: "ro" }]);
    expect(mounts.filter((m) => m.mode === "rw" && m.fs === "tmpfs").map((m) => m.point).sort()).toEqual(expect.arrayContaining(["/dev/shm", "/tmp", "/work"]));
    // Not the host's resolver (debootstrap copies it into the image).
    expect(r.stdout).toContain("resolv []\n");
  });

  it("bounds its memory without swap, its processes and its CPU in its cgroup", async () => {
    const r = await sandbox.run(
      "python",
      [
        "def read(p):",
        "    try:",
        "        return open(p).read().strip()",
        "    except OSError as e:",
        "        return f'unreadable {e.errno}'",
        "for p in ['memory/memory.limit_in_bytes', 'memory/memory.memsw.limit_in_bytes', 'pids/pids.max', 'cpu/cpu.cfs_quota_us', 'cpu/cpu.cfs_period_us']:",
        "    print(p, read('/sys/fs/cgroup/' + p))",
        "print('cgroup', open('/proc/self/cgroup').read().split()[0])",
      ].join("\n"),
      limits,
    );
    expect(r.stdout).toContain(`memory/memory.limit_in_bytes ${runMemoryBytes(limits)}\n`);
    expect(r.stdout).toContain(`memory/memory.memsw.limit_in_bytes ${runMemoryBytes(limits)}\n`);
    expect(r.stdout).toContain(`pids/pids.max ${limits.maxProcesses}\n`);
    expect(r.stdout).toContain("cpu/cpu.cfs_quota_us 50000\ncpu/cpu.cfs_period_us 100000\n");
    // Its own cgroup namespace: no host cgroup path is visible.
    expect(r.stdout).toMatch(/^cgroup \d+:[^:]*:\/$/m);
  });

  it("kills a program at the wall time", async () => {
    const wall = { ...limits, wallMs: 1_500 };
    const r = await sandbox.run("javascript", "for (;;) {}", wall);
    expect(r).toMatchObject({ exitCode: null, signal: "SIGKILL", killedFor: "wall-time" });
    expect(r.durationMs).toBeGreaterThanOrEqual(1_400);
    expect(r.durationMs).toBeLessThan(4_000);
  });

  it("kills a program that floods its output, keeping what it printed up to the limit", async () => {
    const small = { ...limits, outputBytes: 64 * 1024 };
    const r = await sandbox.run("python", "import sys\nwhile True:\n    sys.stdout.write('x' * 4096)\n    sys.stderr.write('y' * 4096)", small);
    expect(r.killedFor).toBe("output");
    expect(r.stdout.length + r.stderr.length).toBeLessThanOrEqual(2 * small.outputBytes);
    expect(r.stdout.length).toBeLessThanOrEqual(small.outputBytes);
    expect(r.stdout).toMatch(/^x+$/);
    expect(r.durationMs).toBeLessThan(4_000);
  });

  it("contains a fork bomb: bounded by the pids limit, the node unharmed, nothing left behind", async () => {
    const marker = tag();
    const r = await sandbox.run(
      "python",
      [
        "import os, sys, time",
        `sys.argv.append('${marker}')`,
        "n = 0",
        "while True:",
        "    try:",
        "        os.fork(); n += 1",
        "    except OSError:",
        "        time.sleep(0.01)",
      ].join("\n"),
      { ...limits, wallMs: 3_000 },
    );
    expect(r.killedFor).toBe("wall-time");
    expect(await sandboxContainers()).toEqual([]);
    // The node still forks as it likes.
    expect((await sandbox.run("python", "print('after')", limits)).stdout).toBe("after\n");
  });

  it("stops a memory bomb at the run's memory bound and says so, in Python and JavaScript", async () => {
    const py = await sandbox.run("python", "a = []\nwhile True:\n    a.append(bytearray(1 << 20))", { ...limits, wallMs: 20_000 });
    expect(py.killedFor).toBe("memory");
    expect(py.exitCode).not.toBe(0);
    // Off the V8 heap, so only the cgroup stops it.
    const js = await sandbox.run("javascript", "const a = [];\nfor (;;) a.push(Buffer.alloc(1 << 20, 1));", { ...limits, wallMs: 20_000 });
    expect(js.killedFor).toBe("memory");
    // /work is RAM too, charged to the same bound: it is full at its size, not at the host's.
    const disk = await sandbox.run(
      "python",
      "n = 0\ntry:\n    with open('/work/fill', 'wb') as f:\n        while True:\n            f.write(b'x' * (1 << 20)); f.flush(); n += 1\nexcept OSError as e:\n    print('full', n, e.errno)",
      limits,
    );
    expect(disk.stdout).toMatch(/^full \d+ 2[78]\n$/);
    expect(Number(disk.stdout.split(" ")[1])).toBeLessThanOrEqual(limits.scratchMb);
  });

  it("removes the container after every run, however it ended", async () => {
    const before = await engine.listContainers({ all: true });
    await sandbox.run("python", "print(1)", limits);
    await sandbox.run("python", "import time\ntime.sleep(60)", { ...limits, wallMs: 1_000 });
    await sandbox.run("python", "while True: print('x' * 1000)", { ...limits, outputBytes: 10_000 });
    await sandbox.run("python", "raise SystemExit(9)", limits);
    expect(await sandboxContainers()).toEqual([]);
    expect((await engine.listContainers({ all: true })).length).toBe(before.length);
  });

  it("a run whose node is killed stops by itself at its wall time, and the next node's start removes it", async () => {
    const marker = tag();
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        [
          `import { dockerSandbox } from ${JSON.stringify(new URL("../../src/adapters/executor/dockerSandbox.ts", import.meta.url).pathname)};`,
          `import { defaultSandboxLimits } from ${JSON.stringify(new URL("../../src/adapters/executor/sandboxContract.ts", import.meta.url).pathname)};`,
          `await dockerSandbox({ socketPath: ${JSON.stringify(socketPath)} }).run("python", "import time\\nprint('${marker}', flush=True)\\ntime.sleep(600)", { ...defaultSandboxLimits, wallMs: 2000 });`,
        ].join("\n"),
      ],
      { stdio: "ignore" },
    );
    const running = await waitFor(async () => (await sandboxContainers()).find((c) => c.State === "running"), 20_000);
    child.kill("SIGKILL");
    // Stopped from inside (its own timeout), not by the dead node.
    const ended = await waitFor(async () => (await sandboxContainers()).find((c) => c.Id === running.Id && c.State === "exited"), 15_000);
    expect(ended.Id).toBe(running.Id);
    // A container created by a node that died before starting it, past its deadline, and a live
    // run of another node that must be left alone.
    const stale = await engine.createContainer({ Image: sandboxImage, Cmd: ["true"], Labels: { [SANDBOX_LABEL]: "python", [DEADLINE_LABEL]: String(Date.now() - 1) }, HostConfig: { NetworkMode: "none" } });
    const live = await engine.createContainer({ Image: sandboxImage, Cmd: ["true"], Labels: { [SANDBOX_LABEL]: "python", [DEADLINE_LABEL]: String(Date.now() + 60_000) }, HostConfig: { NetworkMode: "none" } });
    try {
      const next = dockerSandbox({ socketPath });
      await next.ping();
      expect((await sandboxContainers()).map((c) => c.Id)).toEqual([live.id]);
    } finally {
      await live.remove({ force: true });
      await stale.remove({ force: true }).catch(() => undefined);
    }
  });

  it("names the command that builds a missing image instead of pulling one", async () => {
    const images = { python: "edgecoder-sandbox:does-not-exist" };
    const before = (await engine.listImages()).map((i) => i.Id).sort();
    const missing = dockerSandbox({ socketPath, images });
    await expect(missing.run("python", "print(1)", limits)).rejects.toBeInstanceOf(DockerImageMissingError);
    await expect(missing.run("python", "print(1)", limits)).rejects.toThrow(
      `the sandbox image edgecoder-sandbox:does-not-exist is missing from the engine at unix://${socketPath}: build it with \`${BUILD_IMAGES_COMMAND}\``,
    );
    await expect(createSandbox({ mode: "docker", agentMode: "worker", sandboxRequired: true, docker: { socketPath, images } })).rejects.toThrow(
      /sandbox "docker" is refused: the sandbox image edgecoder-sandbox:does-not-exist is missing .*bash scripts\/build-sandbox-images\.sh/,
    );
    expect((await engine.listImages()).map((i) => i.Id).sort()).toEqual(before);
  });

  describeSandboxEscapes(
    "docker sandbox",
    async () => createSandbox({ mode: "docker", agentMode: "worker", sandboxRequired: true, docker: { socketPath } }),
    { limits, writableMb: 2 * limits.scratchMb + limits.shmMb, runMemoryMb: runMemoryBytes(limits) / MiB },
  );
});

async function waitFor<T>(probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`not seen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
