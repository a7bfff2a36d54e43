import { readFileSync } from "node:fs";

/**
 * Whether a process with this pid runs (EPERM: it does, owned by someone else). A zombie does
 * not: it has ended and only waits to be reaped, which an orphan's new parent may never do.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return !["Z", "X"].includes(processState(pid) ?? "");
}

/** The state letter of /proc/<pid>/stat (R, S, D, Z, ...). */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/**
 * When the process started, in clock ticks since boot (/proc/<pid>/stat, field 22): with the pid
 * it names one process for good, since a pid is reused but never with the same start time.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: count from its end.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** The process's command line, its arguments joined by spaces; undefined when it is gone. */
export function processCommandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return undefined;
  }
}
