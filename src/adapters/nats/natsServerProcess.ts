import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { packageRoot } from "../packageRoot.js";
import { stopLeftover } from "../process/leftovers.js";
import { tiedToParent } from "../process/tiedToParent.js";

/** NATS_SERVER_BIN, else the project-local 2.10 from scripts/install-nats.sh, else PATH. */
export function natsServerBinary(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  const local = join(packageRoot, "tools", "nats-server", "usr", "sbin", "nats-server");
  return existsSync(local) ? local : "nats-server";
}

/** Refuses servers older than 2.10 by name, instead of failing later in confusing ways. */
export function assertNatsServerVersion(bin = natsServerBinary()): string {
  const out = spawnSync(bin, ["--version"], { encoding: "utf8" });
  if (out.error) throw new Error(`cannot run nats-server at ${bin}: ${out.error.message} (run scripts/install-nats.sh)`);
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(out.stdout);
  if (!m) throw new Error(`cannot read the version of ${bin}: ${out.stdout}`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < 2 || (major === 2 && minor < 10)) {
    throw new Error(`${bin} is nats-server ${m[0]}; EdgeCoder needs 2.10 or newer (run scripts/install-nats.sh)`);
  }
  return m[0];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

export interface NatsServerOptions {
  readonly storeDir: string;
  readonly port?: number;
  readonly serverName?: string;
  /** Cluster routing: this server's cluster port and the routes to its peers. */
  readonly cluster?: { name: string; port: number; routes: string[] };
  readonly extraConfig?: string;
  /** Variables the configuration refers to ($NAME), e.g. the users' passwords of accounts.conf. */
  readonly env?: Readonly<Record<string, string>>;
  /** Told when the server ends without being stopped (a crash, a kill). */
  readonly onExit?: (reason: string) => void;
  /**
   * Stop a nats-server an earlier run left on this store first (its pid file names it): for a
   * caller who holds the store alone (a node holding its data folder's lock).
   */
  readonly takeOver?: boolean;
  readonly log?: (line: string) => void;
}

export const NATS_PID_FILE = "nats-server.pid";

/** A nats-server child process with JetStream, owned by this process. */
export class NatsServerProcess {
  private exited: Promise<void>;
  private stopping = false;
  private constructor(
    readonly url: string,
    readonly port: number,
    private readonly child: ChildProcess,
    readonly logs: string[],
    onExit?: (reason: string) => void,
  ) {
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        if (!this.stopping) onExit?.(`nats-server exited (${signal ?? `code ${code}`}): ${logs.join("").trim().split("\n").slice(-3).join(" | ")}`);
        resolve();
      }),
    );
  }

  static async start(opts: NatsServerOptions): Promise<NatsServerProcess> {
    const bin = natsServerBinary();
    assertNatsServerVersion(bin);
    const port = opts.port ?? (await freePort());
    await mkdir(opts.storeDir, { recursive: true });
    const name = opts.serverName ?? `ec-${port}`;
    const conf = join(opts.storeDir, "nats-server.conf");
    const pidFile = join(opts.storeDir, NATS_PID_FILE);
    // A server an earlier run left on this store (its node was SIGKILLed) must be gone first.
    const leftover = opts.takeOver ? Number((await readFile(pidFile, "utf8").catch(() => "")).trim()) : 0;
    if (Number.isInteger(leftover) && leftover > 0) {
      await stopLeftover(leftover, (cmd) => cmd.includes("nats-server") && cmd.includes(conf), opts.log ?? (() => undefined));
    }
    const lines = [
      `server_name: "${name}"`,
      `listen: "127.0.0.1:${port}"`,
      `pid_file: ${JSON.stringify(pidFile)}`,
      `jetstream { store_dir: ${JSON.stringify(opts.storeDir)} }`,
    ];
    if (opts.cluster) {
      lines.push(
        `cluster { name: "${opts.cluster.name}", listen: "127.0.0.1:${opts.cluster.port}", routes: [${opts.cluster.routes
          .map((r) => JSON.stringify(r))
          .join(", ")}] }`,
      );
    }
    if (opts.extraConfig) lines.push(opts.extraConfig);
    // It may hold the users' passwords.
    await writeFile(conf, lines.join("\n") + "\n", { mode: 0o600 });
    await chmod(conf, 0o600);
    const [command, args] = tiedToParent(bin, ["-c", conf]);
    // A group of its own: Ctrl-C in a terminal reaches the node, which stops it after its clients.
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env }, detached: true });
    const logs: string[] = [];
    const keep = (chunk: Buffer) => {
      logs.push(chunk.toString());
      if (logs.length > 200) logs.shift();
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const server = new NatsServerProcess(`nats://127.0.0.1:${port}`, port, child, logs, opts.onExit);
    try {
      await server.waitReady();
    } catch (err) {
      await server.stop("SIGKILL");
      throw err;
    }
    return server;
  }

  // The server's own "Server is ready" line, not a client connection: that works whatever
  // authentication the configuration asks for.
  private async waitReady(): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`nats-server exited: ${this.logs.join("")}`);
      if (this.logs.join("").includes("Server is ready")) return;
      await sleep(20);
    }
    throw new Error(`nats-server did not start on ${this.url}: ${this.logs.join("")}`);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Graceful stop (SIGTERM), or a crash (SIGKILL) for failure tests. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    await this.exited;
  }
}
