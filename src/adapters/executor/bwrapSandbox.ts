import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import type { Language } from "../../domain/tasks/decomposition.js";
import { detectCgroupHost, removeOrphanedRunCgroups, runCgroupName, type CgroupHost, type RunCgroup } from "./cgroups.js";
import { runLimited } from "./limitedProcess.js";
import { defaultSandboxLimits, MiB, runMemoryBytes, type SandboxLimits, type SandboxResult } from "./sandboxContract.js";

const interpreters: Record<Language, { bin: () => string; file: string; args: (l: SandboxLimits) => string[]; addressSpaceMb: (l: SandboxLimits) => number }> = {
  python: {
    bin: () => process.env.EC_SANDBOX_PYTHON ?? "/usr/bin/python3",
    file: "main.py",
    args: () => ["-I", "-S", "main.py"],
    addressSpaceMb: (l) => l.memoryMb,
  },
  // V8 reserves ~4 GB of address space at start, so the address-space limit cannot be node's
  // memory limit: the heap limit is, and the address space only bounds what lives off the heap.
  javascript: {
    bin: () => process.env.EC_SANDBOX_NODE ?? "/usr/bin/node",
    file: "main.mjs",
    args: (l) => [`--max-old-space-size=${l.memoryMb}`, "--disallow-code-generation-from-strings", "main.mjs"],
    addressSpaceMb: (l) => 4096 + l.memoryMb,
  },
};

/** File descriptors the run's inputs arrive on: bwrap's options, then the code. */
const OPTIONS_FD = 3;
const CODE_FD = 4;

/**
 * bwrap's options for one run. Every namespace is unshared (no network, own pids, uts, ipc,
 * cgroup) and no further user namespace may be made inside (one would allow tmpfs mounts of
 * any size). The root is an empty read-only tmpfs holding only /usr; /work, /tmp and /dev/shm
 * are sized tmpfs mounts that vanish with the run, so nothing of the host's disk is written and
 * nothing is left to clean up. The code is copied in from a file descriptor: no host path
 * appears inside. They travel on a file descriptor too (`--args`), so the command line that
 * every process in the sandbox can read in /proc/1/cmdline names nothing of the host.
 */
export function bwrapOptions(language: Language, limits: SandboxLimits): string[] {
  const interpreter = interpreters[language];
  return [
    "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session", "--hostname", "sandbox",
    "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
    "--proc", "/proc",
    // /dev is read-only once /dev/shm is mounted over it (the remount does not recurse), so
    // only the sized /dev/shm is writable there.
    "--dev", "/dev", "--size", String(limits.shmMb * MiB), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
    "--size", String(limits.scratchMb * MiB), "--tmpfs", "/work",
    "--size", String(limits.scratchMb * MiB), "--tmpfs", "/tmp",
    "--perms", "0644", "--file", String(CODE_FD), `/work/${interpreter.file}`,
    "--remount-ro", "/", "--chdir", "/work",
    // PYTHONHASHSEED: the same program prints the same set and dict order in every sandbox, so a
    // coordinator that runs a worker's code again to check it can compare the outputs.
    "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/work", "--setenv", "LANG", "C.UTF-8", "--setenv", "PYTHONHASHSEED", "0",
  ];
}

/** The tools a bwrap run needs, found once by absolute path: the run itself gets no PATH. */
export interface BwrapTools {
  readonly setpriv: string;
  readonly prlimit: string;
  readonly bwrap: string;
  readonly sh: string;
}

export async function findOnPath(bin: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(delimiter).filter(Boolean)) {
    try {
      await access(join(dir, bin), constants.X_OK);
      return join(dir, bin);
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

export async function findBwrapTools(searchPath = process.env.PATH ?? ""): Promise<BwrapTools | { missing: string[] }> {
  const names = ["bwrap", "setpriv", "prlimit"] as const;
  const found = await Promise.all(names.map((n) => findOnPath(n, searchPath)));
  const missing = names.filter((_, i) => !found[i]);
  if (missing.length > 0) return { missing };
  // POSIX's own shell: the one program every system has where its standards say.
  return { bwrap: found[0]!, setpriv: found[1]!, prlimit: found[2]!, sh: "/bin/sh" };
}

// Joins the run's cgroups before anything else runs, so no process of the run is ever outside them.
const JOIN_CGROUPS = 'while [ "$1" != "--" ]; do echo $$ > "$1" || { echo "ec-sandbox: cannot join cgroup $1" >&2; exit 125; }; shift; done; shift; exec "$@"';

let nextRun = 0;
/**
 * A uid of its own for every run. The process limit counts processes per uid, and root is
 * exempt from it, so each sandbox runs as an unprivileged uid that nothing else uses.
 */
function sandboxUid(run: number): number {
  return 200_000 + ((process.pid * 7919 + run) % 100_000);
}

export interface BwrapSandboxOptions {
  readonly tools: BwrapTools;
  /** Where run cgroups are made; undefined where none can be (per-process limits only). */
  readonly cgroups: CgroupHost | undefined;
}

/**
 * Runs code in bubblewrap as an unprivileged uid of its own, from an empty environment at every
 * level (the setpriv, prlimit and bwrap processes get none, so bwrap's pid 1, readable in the
 * sandbox, holds nothing of the node's). Limits: CPU seconds, per-process memory, processes and
 * file size through prlimit; all processes' memory and tmpfs together and their number through
 * the run's cgroup; wall time by killing the whole process group from here.
 */
export async function runInBwrapWith(opts: BwrapSandboxOptions, language: Language, code: string, limits: SandboxLimits): Promise<SandboxResult> {
  const interpreter = interpreters[language];
  const run = nextRun++;
  const uid = sandboxUid(run);
  const { tools } = opts;
  const argv = [
    `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--",
    tools.prlimit, `--nproc=${limits.maxProcesses}`, `--cpu=${limits.cpuSeconds}`, `--as=${interpreter.addressSpaceMb(limits) * MiB}`,
    `--fsize=${limits.scratchMb * MiB}`, "--nofile=64", "--core=0", "--msgqueue=0", "--",
    tools.bwrap, "--args", String(OPTIONS_FD), "--", interpreter.bin(), ...interpreter.args(limits),
  ];
  const options = bwrapOptions(language, limits).map((o) => `${o}\0`).join("");
  let cgroup: RunCgroup | undefined;
  if (opts.cgroups) cgroup = await opts.cgroups.create(runCgroupName(process.pid, run), { memoryBytes: runMemoryBytes(limits), pids: limits.maxProcesses + 3 });
  try {
    const [command, args] = cgroup ? [tools.sh, ["-c", JOIN_CGROUPS, "sh", ...cgroup.procsFiles, "--", tools.setpriv, ...argv]] : [tools.setpriv, argv];
    const result = await runLimited(command, args, { env: {}, inputs: [options, code] }, limits, "cannot start the sandbox (setpriv, prlimit and bwrap are needed)");
    if (result.exitCode === 125 && result.stderr.startsWith("ec-sandbox: cannot join cgroup")) throw new Error(result.stderr.trim());
    // A process killed for memory usually explains the rest (a parent then waits until the wall time).
    if (result.killedFor !== "output" && cgroup && (await cgroup.oomKilled())) return { ...result, killedFor: "memory" };
    return result;
  } finally {
    await cgroup?.remove();
  }
}

let cgroupHost: Promise<CgroupHost | undefined> | undefined;

/** Where this process makes run cgroups, found once; leftover run cgroups of dead nodes are removed then. */
export function detectCgroupHostOnce(): Promise<CgroupHost | undefined> {
  return (cgroupHost ??= (async () => {
    const host = await detectCgroupHost();
    if (host) await removeOrphanedRunCgroups(host);
    return host;
  })());
}

let shared: Promise<BwrapSandboxOptions> | undefined;

function bwrapSetup(): Promise<BwrapSandboxOptions> {
  return (shared ??= (async () => {
    const tools = await findBwrapTools();
    if ("missing" in tools) throw new Error(`cannot start the sandbox: ${tools.missing.join(", ")} not found (install bubblewrap and util-linux)`);
    return { tools, cgroups: await detectCgroupHostOnce() };
  })());
}

export async function runInBwrap(language: Language, code: string, limits: SandboxLimits = defaultSandboxLimits): Promise<SandboxResult> {
  return runInBwrapWith(await bwrapSetup(), language, code, limits);
}
