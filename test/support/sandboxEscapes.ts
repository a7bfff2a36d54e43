import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { readFile } from "node:fs/promises";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateIdentity } from "../../src/adapters/crypto/nodeIdentity.js";
import type { Sandbox, SandboxLimits, SandboxResult } from "../../src/adapters/executor/sandbox.js";

export interface EscapeSuiteOptions {
  /** The limits every case runs under. */
  readonly limits: SandboxLimits;
  /** The most a run can write to all its writable places together, in MiB. */
  readonly writableMb: number;
  /** The most memory a run's processes can hold together (shared memory included), in MiB. */
  readonly runMemoryMb: number;
}

const marker = () => `ec-escape-${randomBytes(6).toString("hex")}`;
const said = (r: SandboxResult) => r.stdout + r.stderr;

/** Numbers a program printed as "label N" lines. */
const counted = (r: SandboxResult, label: string) =>
  [...r.stdout.matchAll(new RegExp(`^${label} (\\d+)$`, "gm"))].map((m) => Number(m[1])).reduce((a, b) => Math.max(a, b), 0);

function hostProcessesWith(text: string): string[] {
  return execFileSync("ps", ["-eo", "pid=,stat=,args="], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(text) && !/^\s*\d+\s+Z/.test(l));
}

/**
 * Escape attempts run straight in a sandbox, code the subset would refuse as well: the sandbox,
 * not the subset, is the wall. Each case states what a hostile program tries and what must hold.
 */
export function describeSandboxEscapes(label: string, sandbox: () => Promise<Sandbox>, opts: EscapeSuiteOptions): void {
  describe(`${label}: escapes`, () => {
    let box: Sandbox;
    let dataDir: string;
    let keyFile: string;
    let keyBody: string;
    const run = (language: "python" | "javascript", code: string, limits: SandboxLimits = opts.limits) => box.run(language, code, limits);

    beforeAll(async () => {
      box = await sandbox();
      dataDir = await mkdtemp(join(tmpdir(), "ec-escape-data-"));
      keyFile = (await loadOrCreateIdentity(dataDir)).file;
      keyBody = (await readFile(keyFile, "utf8")).split("\n")[1]!;
    });
    afterAll(() => rm(dataDir, { recursive: true, force: true }));

    it("finds none of the node's secrets in any environment or command line it can see", async () => {
      const canaries = {
        ADMIN_API_TOKEN: `canary-admin-${marker()}`,
        EC_CLOUD_API_KEY: `canary-cloud-${marker()}`,
        DATABASE_URL: `postgres://ec:canary-pw-${marker()}@127.0.0.1:5432/ec`,
      };
      const saved = Object.fromEntries(Object.keys(canaries).map((k) => [k, process.env[k]]));
      Object.assign(process.env, canaries);
      try {
        const py = await run(
          "python",
          [
            "import glob, os",
            "print('ENV', dict(os.environ))",
            "for p in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline') + glob.glob('/proc/*/task/*/environ'):",
            "    try:",
            "        print(p, open(p, 'rb').read().replace(b'\\0', b' ').decode('utf8', 'replace'))",
            "    except OSError as e:",
            "        print(p, 'unreadable', e.errno)",
            "for p in ['/proc/self/mountinfo', '/proc/1/mountinfo', '/proc/self/cgroup']:",
            "    try:",
            "        print(p, open(p).read())",
            "    except OSError as e:",
            "        print(p, 'unreadable', e.errno)",
          ].join("\n"),
        );
        const js = await run(
          "javascript",
          [
            "import fs from 'node:fs';",
            "console.log('ENV', JSON.stringify(process.env));",
            "for (const d of fs.readdirSync('/proc').filter((d) => /^\\d+$/.test(d))) for (const f of ['environ', 'cmdline']) {",
            "  try { console.log(d, f, fs.readFileSync(`/proc/${d}/${f}`).toString().replace(/\\0/g, ' ')); } catch (e) { console.log(d, f, e.code); }",
            "}",
          ].join("\n"),
        );
        for (const r of [py, js]) {
          expect(r.stdout).toMatch(/^ENV /m);
          // It did look: at least its own pid 1 and itself.
          expect(r.stdout.match(/cmdline/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
          for (const secret of Object.values(canaries)) expect(said(r)).not.toContain(secret);
          expect(said(r)).not.toContain(dataDir);
        }
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    });

    it("sees no other process and cannot signal one", async () => {
      const tag = marker();
      const host: ChildProcess = spawn(process.execPath, ["-e", "setTimeout(() => {}, 300_000)", tag], { stdio: "ignore" });
      try {
        const r = await run(
          "python",
          [
            "import os, signal",
            "procs = [p for p in os.listdir('/proc') if p.isdigit()]",
            "print('visible', len(procs))",
            "for p in procs:",
            "    try:",
            "        print('cmd', open(f'/proc/{p}/cmdline', 'rb').read().replace(b'\\0', b' ').decode())",
            "    except OSError:",
            "        pass",
            `for pid in [${host.pid}, -1, 1]:`,
            "    try:",
            "        os.kill(pid, signal.SIGKILL) if pid != 1 else os.kill(pid, signal.SIGTERM)",
            "        print('signalled', pid)",
            "    except OSError as e:",
            "        print('refused', pid, e.errno)",
          ].join("\n"),
        );
        expect(r.stdout).toMatch(/^visible \d+$/m);
        expect(counted(r, "visible")).toBeLessThanOrEqual(4);
        expect(r.stdout).not.toContain(tag);
        expect(r.stdout).not.toMatch(/^cmd .*(nats-server|vitest|postgres)/m);
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(host.exitCode).toBeNull();
        expect(host.signalCode).toBeNull();
      } finally {
        host.kill("SIGKILL");
      }
    });

    it("cannot reach the node's data folder or key by any path", async () => {
      const r = await run(
        "python",
        [
          "import os",
          `key = ${JSON.stringify(keyFile)}`,
          `data = ${JSON.stringify(dataDir)}`,
          "tries = [key, '/proc/1/root' + key, '/proc/self/root' + key, '/proc/1/cwd/' + os.path.basename(key), '../' * 12 + key.lstrip('/'), data, '/proc/1/root' + data]",
          "for p in tries:",
          "    try:",
          "        print('read', p, open(p).read() if os.path.isfile(p) else os.listdir(p))",
          "    except OSError as e:",
          "        print('refused', p, e.errno)",
          "for top, dirs, files in os.walk('/'):",
          "    dirs[:] = [d for d in dirs if not (top == '/' and d in ('proc', 'sys', 'usr'))]",
          "    for f in files:",
          "        print('file', os.path.join(top, f))",
          "try:",
          "    os.symlink(key, '/work/k'); print('via symlink', open('/work/k').read())",
          "except OSError as e:",
          "    print('symlink refused', e.errno)",
        ].join("\n"),
      );
      expect(r.stdout).toMatch(/^refused /m);
      expect(r.stdout).not.toMatch(/^read /m);
      expect(said(r)).not.toContain(keyBody);
      expect(r.stdout).not.toMatch(/^file .*(identity|\.pem|ec-escape-data)/m);
    });

    describe("the network", () => {
      let tcp: Server;
      let udp: UdpSocket;
      let abstract: Server;
      const received: string[] = [];
      const abstractName = marker();
      beforeAll(async () => {
        tcp = createServer((s) => {
          received.push("tcp");
          s.destroy();
        });
        await new Promise<void>((resolve) => tcp.listen(0, "0.0.0.0", resolve));
        udp = createSocket("udp4");
        udp.on("message", () => received.push("udp"));
        await new Promise<void>((resolve) => udp.bind(0, "0.0.0.0", resolve));
        abstract = createServer((s) => {
          received.push("abstract");
          s.destroy();
        });
        await new Promise<void>((resolve) => abstract.listen(`\0${abstractName}`, resolve));
      });
      afterAll(() => {
        tcp.close();
        udp.close();
        abstract.close();
      });

      it("reaches no host port, no other address, no host socket", async () => {
        const tcpPort = (tcp.address() as { port: number }).port;
        const udpPort = (udp.address() as { port: number }).port;
        const addresses = ["127.0.0.1", ...Object.values(networkInterfaces()).flatMap((l) => (l ?? []).filter((a) => a.family === "IPv4" && !a.internal).map((a) => a.address)), "1.1.1.1"];
        const r = await run(
          "python",
          [
            "import socket",
            `for host in ${JSON.stringify(addresses)}:`,
            `    for port in [${tcpPort}, 5432, 4222]:`,
            "        try:",
            "            socket.create_connection((host, port), timeout=1); print('connected', host, port)",
            "        except OSError as e:",
            "            print('blocked', host, port, e.errno)",
            "    try:",
            "        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
            `        s.sendto(b'x', (host, ${udpPort})); print('sent udp', host)`,
            "    except OSError as e:",
            "        print('blocked udp', host, e.errno)",
            `for path in ['\\0${abstractName}', '/var/run/postgresql/.s.PGSQL.5432', '/run/postgresql/.s.PGSQL.5432', '/var/run/docker.sock']:`,
            "    try:",
            "        u = socket.socket(socket.AF_UNIX); u.settimeout(1); u.connect(path); print('connected unix', repr(path))",
            "    except OSError as e:",
            "        print('blocked unix', repr(path), e.errno)",
          ].join("\n"),
          { ...opts.limits, wallMs: Math.max(opts.limits.wallMs, 20_000) },
        );
        expect(r.stdout).toMatch(/^blocked 127\.0\.0\.1/m);
        expect(r.stdout).not.toMatch(/^connected/m);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(received).toEqual([]);
      });
    });

    it("writes no more than its bounded total, wherever it writes", async () => {
      const r = await run(
        "python",
        [
          "import os",
          "chunk = b'x' * (1 << 20)",
          "total = 0",
          "for place in ['/work', '/tmp', '/dev/shm', '/dev', '/', '/usr', '/proc']:",
          "    n = 0",
          "    for i in range(4096):",
          "        try:",
          "            with open(f'{place}/fill{i}', 'wb') as f:",
          "                for _ in range(16):",
          "                    f.write(chunk); f.flush(); n += 1",
          "        except OSError:",
          "            break",
          "    total += n",
          "    print('wrote', place, n, flush=True)",
          "    print('total', total, flush=True)",
        ].join("\n"),
        { ...opts.limits, wallMs: Math.max(opts.limits.wallMs, 30_000), cpuSeconds: Math.max(opts.limits.cpuSeconds, 30) },
      );
      // It filled what it could, then was refused (or stopped) before the bound.
      expect(counted(r, "total")).toBeGreaterThan(0);
      expect(counted(r, "total")).toBeLessThanOrEqual(opts.writableMb);
      expect(r.stdout).not.toMatch(/^wrote \/(dev|usr|proc)? [1-9]/m);
    });

    it("holds no more shared memory than its run's bound", async () => {
      const segmentMb = 32;
      const r = await run(
        "python",
        [
          "import ctypes",
          "libc = ctypes.CDLL(None, use_errno=True)",
          "libc.shmat.restype = ctypes.c_void_p",
          "libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]",
          "libc.shmdt.argtypes = [ctypes.c_void_p]",
          `size = ${segmentMb} << 20`,
          "held = 0",
          "for i in range(200):",
          "    sid = libc.shmget(0, size, 0o1000 | 0o600)",
          "    if sid < 0:",
          "        print('shmget refused', ctypes.get_errno()); break",
          "    addr = libc.shmat(sid, None, 0)",
          "    if addr in (None, ctypes.c_void_p(-1).value):",
          "        print('shmat refused', ctypes.get_errno()); break",
          "    ctypes.memset(addr, 1, size)",
          "    libc.shmdt(ctypes.c_void_p(addr))",
          `    held += ${segmentMb}`,
          "    print('held', held, flush=True)",
        ].join("\n"),
        { ...opts.limits, wallMs: Math.max(opts.limits.wallMs, 30_000), cpuSeconds: Math.max(opts.limits.cpuSeconds, 30) },
      );
      expect(counted(r, "held")).toBeLessThanOrEqual(opts.runMemoryMb);
      // Stopped by the bound, not by running out of tries.
      expect(counted(r, "held")).toBeLessThan(200 * segmentMb);
    });

    it("keeps its processes bounded and leaves none behind", async () => {
      const tag = marker();
      const r = await run(
        "python",
        [
          "import os, sys",
          "n = 0",
          "for i in range(1000):",
          "    try:",
          "        pid = os.fork()",
          "    except OSError:",
          "        break",
          "    if pid == 0:",
          "        os.setsid()",
          `        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(600)', '${tag}'])`,
          "    n += 1",
          "print('forked', n, flush=True)",
        ].join("\n"),
      );
      expect(counted(r, "forked")).toBeGreaterThan(0);
      expect(counted(r, "forked")).toBeLessThanOrEqual(opts.limits.maxProcesses);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(hostProcessesWith(tag)).toEqual([]);
    });

    it("cannot set the clock, and is stopped at the wall time even when it ignores signals", async () => {
      const tag = marker();
      const limits = { ...opts.limits, wallMs: 2_000 };
      const r = await run(
        "python",
        [
          "import os, signal, sys, time",
          "try:",
          "    time.clock_settime(time.CLOCK_REALTIME, 0); print('clock set')",
          "except OSError as e:",
          "    print('clock refused', e.errno, flush=True)",
          "for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):",
          "    signal.signal(s, signal.SIG_IGN)",
          "if os.fork() == 0:",
          "    os.setsid()",
          `    os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(600)', '${tag}'])`,
          "time.sleep(600)",
        ].join("\n"),
        limits,
      );
      expect(r.stdout).toMatch(/^clock refused/m);
      expect(r.killedFor).toBe("wall-time");
      expect(r.durationMs).toBeLessThan(limits.wallMs + 3_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(hostProcessesWith(tag)).toEqual([]);
    });
  });
}
