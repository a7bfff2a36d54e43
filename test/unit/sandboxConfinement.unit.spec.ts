import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bwrapOptions } from "../../src/adapters/executor/bwrapSandbox.js";
import { defaultSandboxLimits, runMemoryBytes } from "../../src/adapters/executor/sandboxContract.js";
import { parseMountinfo, parseProcCgroup, runCgroupName } from "../../src/adapters/executor/cgroups.js";
import { workerEnvironment } from "../../src/node/workerEnvironment.js";

describe("bwrap options", () => {
  it("given any limits, name no host path but /usr, and size every writable mount", () => {
    fc.assert(
      fc.property(fc.constantFrom("python" as const, "javascript" as const), fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 512 }), (language, scratchMb, shmMb) => {
        const opts = bwrapOptions(language, { ...defaultSandboxLimits, scratchMb, shmMb });
        // Binds from the host: only /usr, read-only.
        const binds = opts.flatMap((o, i) => (/^--(ro-|dev-)?bind/.test(o) ? [[o, opts[i + 1]]] : []));
        expect(binds).toEqual([["--ro-bind", "/usr"]]);
        // Every tmpfs comes right after its size.
        opts.forEach((o, i) => {
          if (o === "--tmpfs") expect(opts[i - 2]).toBe("--size");
        });
        const sizeOf = (dest: string) => Number(opts[opts.indexOf(dest) - 2]);
        expect(sizeOf("/work")).toBe(scratchMb * 1024 * 1024);
        expect(sizeOf("/tmp")).toBe(scratchMb * 1024 * 1024);
        expect(sizeOf("/dev/shm")).toBe(shmMb * 1024 * 1024);
        // /dev is remounted read-only after /dev/shm, and the root last.
        expect(opts.indexOf("/dev/shm")).toBeLessThan(opts.lastIndexOf("/dev"));
        expect(opts.slice(opts.indexOf("--remount-ro"), opts.indexOf("--remount-ro") + 2)).toEqual(["--remount-ro", "/dev"]);
        expect(opts).toContain("--disable-userns");
        expect(opts).toContain("--clearenv");
      }),
    );
  });

  it("bounds a run's memory by its processes' memory, its scratch folders and /dev/shm", () => {
    const l = { ...defaultSandboxLimits, memoryMb: 100, scratchMb: 10, shmMb: 5 };
    expect(runMemoryBytes(l)).toBe((100 + 64 + 20 + 5) * 1024 * 1024);
  });
});

describe("cgroup discovery", () => {
  it("reads cgroup mounts from mountinfo, escaped paths included", () => {
    const text = [
      "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
      "31 25 0:27 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
      "40 25 0:28 / /sys/fs/cgroup/my\\040unified rw - cgroup2 cgroup2 rw",
      "garbage line",
    ].join("\n");
    expect(parseMountinfo(text)).toEqual([
      { point: "/sys/fs/cgroup/memory", fsType: "cgroup", superOptions: ["rw", "memory"] },
      { point: "/sys/fs/cgroup/pids", fsType: "cgroup", superOptions: ["rw", "pids"] },
      { point: "/sys/fs/cgroup/my unified", fsType: "cgroup2", superOptions: ["rw"] },
    ]);
  });

  it("reads this process's cgroups, v1 controllers and the v2 path", () => {
    const parsed = parseProcCgroup("4:memory:/process_api/abc\n8:pids:/\n2:cpu,cpuacct:/x\n0::/user.slice/s.scope\n");
    expect(parsed.v1.get("memory")).toBe("/process_api/abc");
    expect(parsed.v1.get("pids")).toBe("/");
    expect(parsed.v1.get("cpuacct")).toBe("/x");
    expect(parsed.v2).toBe("/user.slice/s.scope");
  });

  it("names a run's cgroup after the node's pid, so leftovers of a dead node can be found", () => {
    expect(runCgroupName(1234, 7)).toBe("ec-sandbox-1234-7");
  });
});

describe("the worker's environment", () => {
  const secrets = { ADMIN_API_TOKEN: "t", DATABASE_URL: "postgres://u:p@h/d", EC_CLOUD_API_KEY: "k", NATS_URL: "nats://u:p@h", EC_NATS_PASSWORD: "p", AWS_SECRET_ACCESS_KEY: "a" };

  it("given the node's environment with secrets, passes none of them and keeps what a process needs", () => {
    const env = workerEnvironment({ ...secrets, PATH: "/usr/bin", HOME: "/root", EC_SANDBOX_PYTHON: "/usr/bin/python3" }, { EC_COORDINATOR_URL: "http://x" });
    expect(env).toEqual({ PATH: "/usr/bin", HOME: "/root", EC_SANDBOX_PYTHON: "/usr/bin/python3", EC_COORDINATOR_URL: "http://x" });
  });

  it("passes no variable outside its list, whatever the node's environment holds", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string()), (nodeEnv) => {
        const env = workerEnvironment(nodeEnv, {});
        for (const key of Object.keys(env)) {
          expect(/^(PATH|HOME|LANG|LC_ALL|LC_CTYPE|TZ|TMPDIR|NODE_EXTRA_CA_CERTS|PYTHON_BIN|DOCKER_HOST)$|^(EC_WORKER_|EC_SANDBOX|EC_DOCKER_)/.test(key)).toBe(true);
        }
      }),
    );
  });
});
