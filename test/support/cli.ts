import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** `edgecoder <args>` from the sources, as a user runs it: its exit code and what it printed. */
export function cli(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = run(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { env: { ...process.env, EC_DATA_DIR: "/nonexistent", ...opts.env } });
  if (opts.input !== undefined) child.child.stdin!.end(opts.input);
  return child.then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}
