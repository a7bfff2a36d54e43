import { accessSync, constants } from "node:fs";

let setpriv: string | null | undefined;

function findSetpriv(): string | null {
  for (const p of ["/usr/bin/setpriv", "/bin/setpriv"]) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * A command that dies with this process: setpriv sets the parent-death signal and execs it,
 * so the kernel sends SIGTERM to the child when this process ends, even by SIGKILL. Without
 * setpriv (util-linux) the command runs as it is, and the child must notice on its own (an IPC
 * channel that closes) and the next start must stop what was left behind.
 */
export function tiedToParent(command: string, args: readonly string[]): [string, string[]] {
  setpriv ??= findSetpriv();
  return setpriv ? [setpriv, ["--pdeathsig", "SIGTERM", "--", command, ...args]] : [command, [...args]];
}
