import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ADMIN_TOKEN_FILE } from "../node/adminToken.js";

export interface CoordinatorAccess {
  readonly url: string;
  readonly token: string;
}

/** Where the node's coordinator is and its admin token: flags, env, else the data folder's token file. */
export async function coordinatorAccess(opts: { coordinatorUrl?: string; dataDir: string; adminToken?: string }): Promise<CoordinatorAccess> {
  const url = opts.coordinatorUrl ?? process.env.EC_COORDINATOR_URL ?? "http://127.0.0.1:4301";
  let token = opts.adminToken ?? process.env.ADMIN_API_TOKEN;
  if (!token) {
    const file = join(opts.dataDir, ADMIN_TOKEN_FILE);
    token = await readFile(file, "utf8").then(
      (t) => t.trim(),
      () => {
        throw new Error(`no admin token: set ADMIN_API_TOKEN or start the node once so that ${file} exists`);
      },
    );
  }
  return { url, token };
}

async function call<T>(access: CoordinatorAccess, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(new URL(path, access.url), {
      method,
      headers: { authorization: `Bearer ${access.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new Error(`coordinator at ${access.url} is not reachable (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}); is the node up?`);
  }
  const json = (await res.json().catch(() => ({}))) as T & { error?: string; message?: string };
  if (!res.ok) throw Object.assign(new Error(`${res.status} ${json.error ?? ""}: ${json.message ?? ""}`), { status: res.status });
  return json;
}

interface TaskView {
  taskId: string;
  status: string;
  prompt: string | null;
  subtaskCount: number;
  finishedCount: number;
  updatedAt: string;
  subtasks?: { index: number | null; status: string; attempts: number }[];
}
interface TaskResult {
  status: string;
  done: boolean;
  code: string | null;
  output: string | null;
  reason: string | null;
}

/** The phase a user cares about: queued (not planned yet), decomposed, running, done. */
function phase(t: TaskView): string {
  if (t.status === "submitted") return "queued: waiting for decomposition";
  if (t.status === "completed" || t.status === "failed") return `done: ${t.status}`;
  const subs = t.subtasks ?? [];
  const running = subs.filter((s) => s.status === "assigned").length;
  if (running === 0 && t.finishedCount === 0) return `decomposed into ${t.subtaskCount} subtask(s)`;
  return `running: ${t.finishedCount}/${t.subtaskCount} done, ${running} running${subs.some((s) => s.status === "escalated" || s.status === "awaitingHuman") ? ", some escalated" : ""}`;
}

/** Submits a prompt, prints each change of phase, then the code and its output. Resolves with the exit code. */
export async function submitAndWait(
  access: CoordinatorAccess,
  request: { prompt: string; language: string; requestedModel?: string; wait: boolean; timeoutMs: number },
  print: (line: string) => void,
): Promise<number> {
  const { taskId } = await call<{ taskId: string }>(access, "POST", "/submit", {
    prompt: request.prompt,
    language: request.language,
    ...(request.requestedModel ? { requestedModel: request.requestedModel } : {}),
  });
  print(`task ${taskId} submitted`);
  if (!request.wait) return 0;
  const deadline = Date.now() + request.timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const view = await call<TaskView>(access, "GET", `/tasks/${taskId}`).catch((err: { status?: number }) => {
      if (err.status === 404) return undefined; // not projected yet
      throw err;
    });
    if (view) {
      const now = phase(view);
      if (now !== last) print(now);
      last = now;
      if (view.status === "completed" || view.status === "failed") {
        const result = await call<TaskResult>(access, "GET", `/tasks/${taskId}/result`);
        if (result.status === "failed") {
          print(`failed: ${result.reason}`);
          return 1;
        }
        print("--- code ---");
        print(result.code ?? "");
        print("--- output ---");
        print(result.output ?? "");
        return 0;
      }
    }
    await sleep(300);
  }
  print(`still running after ${Math.round(request.timeoutMs / 1000)} s; see: edgecoder tasks`);
  return 3;
}

export async function listTasks(access: CoordinatorAccess, opts: { status?: string; limit: number }, print: (line: string) => void): Promise<void> {
  const q = new URLSearchParams({ limit: String(opts.limit), ...(opts.status ? { status: opts.status } : {}) });
  const { tasks } = await call<{ tasks: TaskView[] }>(access, "GET", `/tasks?${q}`);
  if (tasks.length === 0) return print("no tasks");
  for (const t of tasks) {
    const prompt = (t.prompt ?? "").replace(/\s+/g, " ");
    print(`${t.taskId}  ${t.status.padEnd(9)}  ${`${t.finishedCount}/${t.subtaskCount}`.padStart(5)}  ${t.updatedAt}  ${prompt.length > 60 ? prompt.slice(0, 57) + "..." : prompt}`);
  }
}
