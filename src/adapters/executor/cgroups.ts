import { readFile, readdir, rmdir, mkdir, writeFile, access } from "node:fs/promises";
import { join } from "node:path";
import { isAlive } from "../process/processInfo.js";

/**
 * Control groups bound what all of one run's processes use together. Per-process limits
 * (RLIMIT_AS, tmpfs sizes) leave holes: 32 processes of 256 MB each, or SysV shared memory
 * segments filled and detached one after another, are each within a per-process limit and
 * together exhaust the host. A memory cgroup charges every page of the run (heap, tmpfs, shm)
 * to one account with one ceiling; a pids cgroup counts its processes whatever their uid.
 */
export interface RunCgroupLimits {
  readonly memoryBytes: number;
  readonly pids: number;
}

/** The cgroup(s) of one run. */
export interface RunCgroup {
  /** `cgroup.procs` files a process writes its pid to before it runs the code. */
  readonly procsFiles: readonly string[];
  /** True when the kernel killed a process of the run for reaching the memory ceiling. */
  oomKilled(): Promise<boolean>;
  /** Kills whatever is left in the run's cgroups and removes them. */
  remove(): Promise<void>;
}

export interface CgroupHost {
  readonly version: "v1" | "v2";
  /** Where run cgroups are made: one folder per controller (v1) or one (v2). */
  readonly parents: readonly string[];
  create(name: string, limits: RunCgroupLimits): Promise<RunCgroup>;
}

interface Mount {
  readonly point: string;
  readonly fsType: string;
  readonly superOptions: string[];
}

/** /proc/self/mountinfo: "id parent maj:min root point options ... - fstype source superoptions". */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split("\n")) {
    const [left, right] = line.split(" - ");
    if (!left || !right) continue;
    const point = left.split(" ")[4];
    const [fsType, , superOptions] = right.split(" ");
    if (point && fsType) mounts.push({ point: unescapeMountPath(point), fsType, superOptions: (superOptions ?? "").split(",") });
  }
  return mounts;
}

const unescapeMountPath = (p: string) => p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** /proc/self/cgroup: "hierarchy:controllers:path"; v2's line is "0::path". */
export function parseProcCgroup(text: string): { v1: Map<string, string>; v2?: string } {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of text.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === "0" && m[2] === "") v2 = m[3];
    else for (const c of m[2]!.split(",")) v1.set(c, m[3]!);
  }
  return v2 === undefined ? { v1 } : { v1, v2 };
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

async function writable(dir: string): Promise<boolean> {
  const probe = join(dir, `ec-probe-${process.pid}`);
  try {
    await mkdir(probe);
    await rmdir(probe);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds where this process may make cgroups for its runs: cgroup v1's memory and pids
 * hierarchies (children of this process's own cgroups), else cgroup v2 (siblings of this
 * process's cgroup, whose parent must delegate memory and pids). Undefined when neither can
 * be written, e.g. not root, or a container with a read-only /sys/fs/cgroup.
 */
export async function detectCgroupHost(): Promise<CgroupHost | undefined> {
  const [mountinfo, own] = await Promise.all([readFile("/proc/self/mountinfo", "utf8"), readFile("/proc/self/cgroup", "utf8")]).catch(() => ["", ""]);
  const mounts = parseMountinfo(mountinfo);
  const mine = parseProcCgroup(own);

  const v1Dir = (controller: string) => {
    const mount = mounts.find((m) => m.fsType === "cgroup" && m.superOptions.includes(controller));
    const path = mine.v1.get(controller);
    return mount && path !== undefined ? join(mount.point, path) : undefined;
  };
  const memory = v1Dir("memory");
  const pids = v1Dir("pids");
  if (memory && pids && (await writable(memory)) && (await writable(pids))) return v1Host(memory, pids);

  const unified = mounts.find((m) => m.fsType === "cgroup2");
  if (unified && mine.v2 !== undefined) {
    const ownDir = join(unified.point, mine.v2);
    const parent = mine.v2 === "/" ? ownDir : join(ownDir, "..");
    const delegated = await readFile(join(parent, "cgroup.subtree_control"), "utf8").catch(() => "");
    const controllers = delegated.split(/\s+/);
    if (controllers.includes("memory") && controllers.includes("pids") && (await writable(parent))) return v2Host(parent);
  }
  return undefined;
}

async function killAll(dir: string): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = (await readFile(join(dir, "cgroup.procs"), "utf8").catch(() => ""))
      .split("\n")
      .filter(Boolean)
      .map(Number);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function removeDir(dir: string): Promise<void> {
  await killAll(dir);
  for (let round = 0; round < 50; round++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      // EBUSY while the kernel is still tearing down the last process.
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const oomKills = (text: string) => Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);

function v1Host(memoryParent: string, pidsParent: string): CgroupHost {
  return {
    version: "v1",
    parents: [memoryParent, pidsParent],
    async create(name, limits) {
      const memory = join(memoryParent, name);
      const pids = join(pidsParent, name);
      await mkdir(memory);
      await mkdir(pids);
      const run: RunCgroup = {
        procsFiles: [join(memory, "cgroup.procs"), join(pids, "cgroup.procs")],
        oomKilled: async () => oomKills(await readFile(join(memory, "memory.oom_control"), "utf8").catch(() => "")) > 0,
        remove: () => Promise.all([removeDir(memory), removeDir(pids)]).then(() => undefined),
      };
      try {
        await writeFile(join(memory, "memory.limit_in_bytes"), String(limits.memoryBytes));
        // No swap either: with it, the ceiling would only slow a run down, not stop it.
        const memsw = join(memory, "memory.memsw.limit_in_bytes");
        if (await exists(memsw)) await writeFile(memsw, String(limits.memoryBytes));
        await writeFile(join(pids, "pids.max"), String(limits.pids));
      } catch (err) {
        await run.remove();
        throw err;
      }
      return run;
    },
  };
}

function v2Host(parent: string): CgroupHost {
  return {
    version: "v2",
    parents: [parent],
    async create(name, limits) {
      const dir = join(parent, name);
      await mkdir(dir);
      const run: RunCgroup = {
        procsFiles: [join(dir, "cgroup.procs")],
        oomKilled: async () => oomKills(await readFile(join(dir, "memory.events"), "utf8").catch(() => "")) > 0,
        remove: async () => {
          // cgroup.kill (5.14+) ends every process at once, including ones forked meanwhile.
          await writeFile(join(dir, "cgroup.kill"), "1").catch(() => undefined);
          await removeDir(dir);
        },
      };
      try {
        await writeFile(join(dir, "memory.max"), String(limits.memoryBytes));
        await writeFile(join(dir, "memory.swap.max"), "0").catch(() => undefined);
        await writeFile(join(dir, "pids.max"), String(limits.pids));
      } catch (err) {
        await run.remove();
        throw err;
      }
      return run;
    },
  };
}

export const RUN_CGROUP_PREFIX = "ec-sandbox-";

/** A run's cgroup name carries the pid of the node that made it, so leftovers can be told apart. */
export const runCgroupName = (ownerPid: number, run: number) => `${RUN_CGROUP_PREFIX}${ownerPid}-${run}`;

/**
 * Removes the run cgroups of processes that no longer exist (a node SIGKILLed mid-run leaves
 * its cgroup behind; its processes died with bwrap's parent). Others' live runs are left alone.
 */
export async function removeOrphanedRunCgroups(host: CgroupHost): Promise<number> {
  const removed = new Set<string>();
  for (const parent of host.parents) {
    for (const entry of await readdir(parent).catch(() => [] as string[])) {
      const m = new RegExp(`^${RUN_CGROUP_PREFIX}(\\d+)-\\d+$`).exec(entry);
      if (!m || isAlive(Number(m[1]))) continue;
      await removeDir(join(parent, entry));
      removed.add(entry);
    }
  }
  return removed.size;
}
