import { spawn } from "node:child_process";
import { tiedToParent } from "../adapters/process/tiedToParent.js";
import type { NodeConfig } from "../node/config.js";
import type { RunningNode } from "../node/startNode.js";

/** Set in the node process that `edgecoder up` supervises. */
const SUPERVISED = "EC_NODE_SUPERVISED";
/** The node stopped itself because a part of it failed: it should be started again. */
export const EXIT_RESTART = 3;
/** Bad configuration: starting again cannot help. */
export const EXIT_CONFIG = 2;

type Log = (line: string) => void;

/**
 * `edgecoder up`: the node runs in a child process, started again whenever it stops on its own
 * (a dependency died, a crash, a kill), after a pause that grows while it keeps failing fast.
 * Ctrl-C or SIGTERM stop it for good. With --no-restart the node runs in this process.
 */
export async function up(config: () => Promise<NodeConfig>, opts: { restart: boolean }, given?: Log): Promise<void> {
  if (!opts.restart || process.env[SUPERVISED] === "1") return runNode(await configOrExit(config), given);
  const log = given ?? console.log;
  // The settings are read by the node's process, not here: the supervisor loads no schema
  // library (zod alone is ~14 MiB of a process), and a bad setting still stops it at once,
  // named once, by the child's exit code 2.
  let stopping = false;
  let failures = 0;
  let child: ReturnType<typeof spawn> | undefined;
  const forward = (signal: NodeJS.Signals) => {
    stopping = true;
    child?.kill(signal);
  };
  process.on("SIGINT", () => forward("SIGINT"));
  process.on("SIGTERM", () => forward("SIGTERM"));
  for (;;) {
    const started = Date.now();
    const [command, args] = tiedToParent(process.execPath, [...process.execArgv, ...process.argv.slice(1)]);
    child = spawn(command, args, { env: { ...process.env, [SUPERVISED]: "1" }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child!.once("exit", (c, s) => resolve({ code: c, signal: s })),
    );
    if (stopping || code === 0) process.exit(code ?? 0);
    if (code === EXIT_CONFIG) process.exit(EXIT_CONFIG);
    failures = Date.now() - started < 60_000 ? failures + 1 : 0;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
    log(`node stopped (${signal ?? `code ${code}`}); starting it again in ${delay} ms`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    if (stopping) process.exit(0);
  }
}

/** The settings, or exit 2 naming what is wrong with them. */
async function configOrExit(config: () => Promise<NodeConfig>): Promise<NodeConfig> {
  try {
    return await config();
  } catch (err) {
    console.error(`edgecoder: ${err instanceof Error ? err.message : String(err)}`);
    const { NodeConfigError } = await import("../node/config.js");
    process.exit(err instanceof NodeConfigError ? EXIT_CONFIG : 1);
  }
}

async function runNode(config: NodeConfig, given: Log | undefined): Promise<void> {
  // The gateways' JSON lines made readable when the output is a terminal.
  const log = given ?? (await (await import("../gateways/gatewayLog.js")).terminalLog());
  let stopping = false;
  let node: RunningNode | undefined;
  const shutdown = async (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping`);
    // A stop that hangs on a dead dependency must not keep the node from coming back.
    setTimeout(() => process.exit(code), 30_000).unref();
    await node?.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown("SIGINT", 0));
  process.on("SIGTERM", () => void shutdown("SIGTERM", 0));
  // The supervisor is gone (SIGKILLed): nobody would start this node again or stop it.
  process.on("disconnect", () => void shutdown("the supervisor went away", 0));
  // Loaded here, not at the top: the supervisor that runs up() holds none of the node's modules.
  const { StartRefusedError, startNode } = await import("../node/startNode.js");
  try {
    node = await startNode(config, log, (reason) => void shutdown(`${reason}; the node stops to be started again`, EXIT_RESTART));
  } catch (err) {
    console.error(`edgecoder: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(err instanceof StartRefusedError ? EXIT_CONFIG : 1);
  }
  if (stopping) return;
  log(`node ${node.publicKey} is up; Ctrl-C stops it`);
}
