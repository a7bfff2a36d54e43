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

/**
 * The fields of /proc/<pid>/stat after the command name (which is in parentheses and may hold
 * spaces, so they are counted from its end): [0] is field 3, the state letter.
 */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The state letter (R, S, D, Z, ...). */
const processState = (pid: number) => statFields(pid)?.[0];

/**
 * When the process started, in clock ticks since boot (/proc/<pid>/stat, field 22): with the pid
 * it names one process for good, since a pid is reused but never with the same start time.
 */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** The process's command line, its arguments joined by spaces; undefined when it is gone. */
export function processCommandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return undefined;
  }
}
