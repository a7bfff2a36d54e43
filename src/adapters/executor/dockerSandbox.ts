import { PassThrough, type Duplex } from "node:stream";
import Docker from "dockerode";
import type { Language } from "../../domain/tasks/decomposition.js";
import { runMemoryBytes, type Sandbox, type SandboxLimits, type SandboxResult } from "./sandboxContract.js";

/**
 * Built locally from Debian's packages by the command below (no registry is asked): python3 and
 * nodejs on a minbase root without setuid bits. The tag is the build script's version.
 */
export const sandboxImage = "edgecoder-sandbox:1";
export const defaultDockerImages: Record<Language, string> = { python: sandboxImage, javascript: sandboxImage };
export const BUILD_IMAGES_COMMAND = "bash scripts/build-sandbox-images.sh";
/** The socket of the project's own engine (scripts/docker-engine.sh). */
export const defaultDockerSocket = "/run/edgecoder-docker/docker.sock";

export interface DockerSandboxOptions {
  /** The engine's unix socket; else EC_DOCKER_SOCKET, else the project's own engine. DOCKER_HOST is never read. */
  readonly socketPath?: string;
  readonly images?: Partial<Record<Language, string>>;
  readonly cpus?: number;
  /** All processes and threads of a run together; the run's maxProcesses by default. */
  readonly pidsLimit?: number;
}

export class DockerUnavailableError extends Error {
  override readonly name = "DockerUnavailableError";
}

export class DockerImageMissingError extends Error {
  override readonly name = "DockerImageMissingError";
}

const WORK_DIR = "/work";
/** nobody: the code never runs as the image's root. */
const SANDBOX_USER = "65534:65534";
const MiB = 1024 * 1024;
/** Every container this sandbox makes carries it, so leftovers can be found by any later node. */
export const SANDBOX_LABEL = "edgecoder.sandbox";
/** When the container may be removed by anyone: its owner is done with it by then. */
export const DEADLINE_LABEL = "edgecoder.sandbox.deadline";
/** Time a live owner may still need its container after the wall time (kill, wait, inspect). */
const DEADLINE_GRACE_MS = 30_000;
/** The container stops itself this long after the wall time, for when its node died mid-run. */
const SELF_STOP_GRACE_S = 5;

const interpreters: Record<Language, { file: string; command: (l: SandboxLimits) => string }> = {
  python: { file: "main.py", command: () => "python3 -I -S main.py" },
  javascript: { file: "main.mjs", command: (l) => `node --max-old-space-size=${l.memoryMb} --disallow-code-generation-from-strings main.mjs` },
};

/**
 * The container's pid 1: a shell with no signal handlers, which the kernel never lets the
 * program signal (kill(-1) spares it, SIGTERM to pid 1 is dropped), so the program cannot end
 * its own run early and lose its output. The code arrives on stdin and is written to the tmpfs
 * first (the root stays read-only, nothing is mounted from the host, tracebacks name a real
 * file). A sleeper stops the program by itself `selfStopS` after the start, for when the node
 * that started it is gone; the node's own kill at the wall time comes first.
 */
export function runScript(language: Language, limits: SandboxLimits, selfStopS: number): string {
  const { file, command } = interpreters[language];
  return [
    `cat > ${WORK_DIR}/${file} || exit 125`,
    `${command(limits)} & run=$!`,
    `(sleep ${selfStopS}; kill -KILL $run) 2>/dev/null &`,
    "wait $run",
  ].join("\n");
}

/** The engine's API has it (1.41); the typings do not yet. */
type HostConfig = Docker.HostConfig & { CgroupnsMode: "private" | "host" };

const tmpfs = (mb: number, exec: "exec" | "noexec") => `rw,${exec},nosuid,nodev,size=${mb}m,mode=1777`;

/**
 * The container for one run. Nothing of the node's environment: the Env below is all of it (the
 * engine adds HOSTNAME). No network, a read-only root, user nobody without capabilities or
 * privilege gain, nothing mounted from the host. Its writable places are sized tmpfs mounts
 * (/work, /tmp, /dev/shm) and its SysV shared memory is capped at /dev/shm's size, all charged
 * to the run's memory, which bounds all its processes together, without swap; processes, CPU,
 * open files and POSIX message queues are bounded too. No log is kept (the engine would write
 * all output to its disk). With the network disabled, the engine mounts none of its /etc/hosts
 * or /etc/resolv.conf, only a read-only /etc/hostname.
 */
export function containerOptions(language: Language, limits: SandboxLimits, opts: DockerSandboxOptions = {}, now = Date.now()): Docker.ContainerCreateOptions {
  const selfStop = Math.ceil(limits.wallMs / 1000) + SELF_STOP_GRACE_S;
  return {
    Image: opts.images?.[language] ?? defaultDockerImages[language],
    Cmd: ["/bin/sh", "-c", runScript(language, limits, selfStop)],
    User: SANDBOX_USER,
    WorkingDir: WORK_DIR,
    Hostname: "sandbox",
    // PYTHONHASHSEED as in bwrap: a checked result's run prints the same set and dict order.
    Env: ["PATH=/usr/bin:/bin", "HOME=/work", "LANG=C.UTF-8", "PYTHONHASHSEED=0"],
    Labels: { [SANDBOX_LABEL]: language, [DEADLINE_LABEL]: String(now + limits.wallMs + DEADLINE_GRACE_MS) },
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    NetworkDisabled: true,
    HostConfig: hostConfig(limits, opts),
  };
}

function hostConfig(limits: SandboxLimits, opts: DockerSandboxOptions): HostConfig {
  const memory = runMemoryBytes(limits);
  return {
    NetworkMode: "none",
    IpcMode: "private",
    CgroupnsMode: "private",
    ReadonlyRootfs: true,
    Memory: memory,
    MemorySwap: memory,
    OomScoreAdj: 1000,
    NanoCpus: Math.round((opts.cpus ?? 0.5) * 1e9),
    PidsLimit: opts.pidsLimit ?? limits.maxProcesses,
    Tmpfs: { [WORK_DIR]: tmpfs(limits.scratchMb, "exec"), "/tmp": tmpfs(limits.scratchMb, "noexec") },
    ShmSize: limits.shmMb * MiB,
    Sysctls: {
      "kernel.shmmax": String(limits.shmMb * MiB),
      "kernel.shmall": String((limits.shmMb * MiB) / 4096),
      "kernel.msgmni": "4",
    },
    CapDrop: ["ALL"],
    SecurityOpt: ["no-new-privileges"],
    Privileged: false,
    Ulimits: [
      { Name: "cpu", Soft: limits.cpuSeconds, Hard: limits.cpuSeconds },
      { Name: "fsize", Soft: limits.scratchMb * MiB, Hard: limits.scratchMb * MiB },
      { Name: "nofile", Soft: 64, Hard: 64 },
      { Name: "core", Soft: 0, Hard: 0 },
      { Name: "msgqueue", Soft: 0, Hard: 0 },
    ],
    LogConfig: { Type: "none", Config: {} },
    Init: false,
    AutoRemove: false,
    RestartPolicy: { Name: "no" },
  };
}

export interface ContainerSummary {
  readonly State: string;
  readonly Labels: Readonly<Record<string, string>>;
}

/**
 * A container of this sandbox no node needs any more: one that has ended (its owner has its exit
 * status, or died), or any past its deadline (created or running for a node that died mid-run).
 */
export function isLeftover(c: ContainerSummary, now: number): boolean {
  if (!(SANDBOX_LABEL in c.Labels)) return false;
  if (c.State === "exited" || c.State === "dead") return true;
  const deadline = Number(c.Labels[DEADLINE_LABEL]);
  return !Number.isFinite(deadline) || deadline < now;
}

/**
 * docker-modem fills its options from DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY... and lets
 * them win over a socket path; every such field is set here so the node's environment can neither
 * redirect nor add to a request.
 */
function engineClient(socketPath: string): Docker {
  return new Docker({
    socketPath,
    host: undefined,
    port: undefined,
    protocol: "http",
    pathPrefix: undefined,
    username: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
    timeout: undefined,
    headers: {},
  } as Docker.DockerOptions);
}

/** A promise that fails with `message` when it has not settled after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;

/**
 * Runs code in a fresh container per run, removed afterwards; killed at the wall time or when it
 * prints too much. `ping` checks what a worker needs before it takes work: an engine that answers
 * and the sandbox images, and removes the leftovers of nodes that died mid-run.
 */
export function dockerSandbox(opts: DockerSandboxOptions = {}): Sandbox & { ping(): Promise<void>; removeLeftovers(): Promise<number> } {
  const socketPath = opts.socketPath ?? process.env.EC_DOCKER_SOCKET ?? defaultDockerSocket;
  const docker = engineClient(socketPath);
  const where = `unix://${socketPath}`;

  const unavailable = (err: unknown) =>
    new DockerUnavailableError(
      `no Docker engine reachable at ${where}: ${(err as Error).message} (start the project's engine and build its image with \`${BUILD_IMAGES_COMMAND}\`, or set EC_DOCKER_SOCKET)`,
    );
  const missing = (image: string) =>
    new DockerImageMissingError(
      `the sandbox image ${image} is missing from the engine at ${where}: build it with \`${BUILD_IMAGES_COMMAND}\` (no image is pulled)`,
    );

  const reachable = async () => {
    try {
      await docker.ping();
    } catch (err) {
      throw unavailable(err);
    }
  };

  const removeLeftovers = async () => {
    const now = Date.now();
    const all = await docker.listContainers({ all: true, filters: { label: [SANDBOX_LABEL] } });
    const leftovers = all.filter((c) => isLeftover(c, now));
    await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    return leftovers.length;
  };

  let swept: Promise<number> | undefined;
  const ready = async () => {
    await reachable();
    await (swept ??= removeLeftovers().catch((err: unknown) => {
      swept = undefined;
      throw err;
    }));
  };

  const create = async (options: Docker.ContainerCreateOptions) => {
    try {
      return await docker.createContainer(options);
    } catch (err) {
      if (statusOf(err) === 404) throw missing(options.Image!);
      if (statusOf(err) === undefined) throw unavailable(err);
      throw err;
    }
  };

  return {
    mode: "docker",
    removeLeftovers,
    async ping() {
      await ready();
      for (const image of new Set(Object.values({ ...defaultDockerImages, ...opts.images }))) {
        try {
          await docker.getImage(image).inspect();
        } catch (err) {
          throw statusOf(err) === 404 ? missing(image) : unavailable(err);
        }
      }
    },
    async run(language: Language, code: string, limits: SandboxLimits): Promise<SandboxResult> {
      await ready();
      const container = await create(containerOptions(language, limits, opts));
      try {
        return await runIn(container, code, limits);
      } finally {
        await container.remove({ force: true }).catch(() => undefined);
      }
    },
  };

  async function runIn(container: Docker.Container, code: string, limits: SandboxLimits): Promise<SandboxResult> {
    // Attached before the start, so no output is missed.
    const io = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as unknown as Duplex;
    const out = new PassThrough();
    const err = new PassThrough();
    docker.modem.demuxStream(io, out, err);
    const kept: Record<"out" | "err", Buffer[]> = { out: [], err: [] };
    let printed = 0;
    let killedFor: SandboxResult["killedFor"];
    const kill = (why: NonNullable<SandboxResult["killedFor"]>) => {
      killedFor ??= why;
      container.kill().catch(() => undefined);
    };
    const take = (chunk: Buffer, into: "out" | "err") => {
      // What arrives after the limit (until the kill lands) is not kept.
      if (printed <= limits.outputBytes) kept[into].push(chunk);
      printed += chunk.length;
      if (printed > limits.outputBytes) kill("output");
    };
    out.on("data", (c: Buffer) => take(c, "out"));
    err.on("data", (c: Buffer) => take(c, "err"));
    // The exit can be reported before the last output has been read from the attach stream.
    const drained = new Promise<void>((resolve) => {
      io.on("end", resolve);
      io.on("close", resolve);
      io.on("error", () => resolve());
    });
    const started = performance.now();
    await container.start();
    const timer = setTimeout(() => kill("wall-time"), limits.wallMs);
    try {
      io.end(code);
      const { StatusCode } = await within(
        container.wait() as Promise<{ StatusCode: number }>,
        limits.wallMs + DEADLINE_GRACE_MS,
        `the engine at ${where} did not report the end of the run`,
      );
      await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
      const durationMs = Math.round(performance.now() - started);
      const text = (b: Buffer[]) => Buffer.concat(b).subarray(0, limits.outputBytes).toString("utf8");
      const output = { stdout: text(kept.out), stderr: text(kept.err), durationMs };
      if (killedFor) return { exitCode: null, signal: "SIGKILL", ...output, killedFor };
      const oomKilled = await container.inspect().then((i) => i.State.OOMKilled, () => false);
      return { exitCode: StatusCode, signal: null, ...output, ...(oomKilled ? { killedFor: "memory" as const } : {}) };
    } finally {
      clearTimeout(timer);
      io.destroy();
    }
  }
}
