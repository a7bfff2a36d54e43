import { chmod, chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Language } from "../../domain/tasks/decomposition.js";
import { runLimited } from "./limitedProcess.js";

export interface SandboxLimits {
  readonly wallMs: number;
  readonly cpuSeconds: number;
  readonly memoryMb: number;
  readonly maxProcesses: number;
  readonly outputBytes: number;
}

export const defaultSandboxLimits: SandboxLimits = { wallMs: 10_000, cpuSeconds: 10, memoryMb: 256, maxProcesses: 32, outputBytes: 1 << 20 };

export interface SandboxResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  /** Set when the sandbox was killed from outside for running too long or printing too much. */
  readonly killedFor?: "wall-time" | "output";
}

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
    file: "main.js",
    args: (l) => [`--max-old-space-size=${l.memoryMb}`, "--disallow-code-generation-from-strings", "main.js"],
    addressSpaceMb: (l) => 4096 + l.memoryMb,
  },
};

let nextUid = 0;
/**
 * A uid of its own for every run. The process limit counts processes per uid, and root is
 * exempt from it, so each sandbox runs as an unprivileged uid that nothing else uses.
 */
function sandboxUid(): number {
  return 200_000 + ((process.pid * 7919 + nextUid++) % 100_000);
}

/**
 * Runs code in bubblewrap: every namespace unshared (no network, own pids, own uts/ipc), a
 * read-only root holding only /usr, a private /tmp, and a private writable /work with the code. Limits:
 * CPU seconds, memory, processes and file size through prlimit; wall time by killing the whole
 * process group from here. Nothing of the host's folders (the node's data, its key) is visible.
 */
export async function runInBwrap(language: Language, code: string, limits: SandboxLimits = defaultSandboxLimits): Promise<SandboxResult> {
  const interpreter = interpreters[language];
  const uid = sandboxUid();
  const work = await mkdtemp(join(tmpdir(), "ec-sandbox-"));
  try {
    await writeFile(join(work, interpreter.file), code, { mode: 0o600 });
    await chown(join(work, interpreter.file), uid, uid);
    await chown(work, uid, uid);
    await chmod(work, 0o700);
    const argv = [
      `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--",
      "prlimit", `--nproc=${limits.maxProcesses}`, `--cpu=${limits.cpuSeconds}`, `--as=${interpreter.addressSpaceMb(limits) * 1024 * 1024}`,
      `--fsize=${64 * 1024 * 1024}`, "--nofile=64", "--core=0", "--",
      "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
      "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
      "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--bind", work, "/work", "--remount-ro", "/", "--chdir", "/work",
      "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/work", "--setenv", "LANG", "C.UTF-8",
      "--", interpreter.bin(), ...interpreter.args(limits),
    ];
    return await runLimited("setpriv", argv, {}, limits, "cannot start the sandbox (setpriv, prlimit and bwrap are needed)");
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
