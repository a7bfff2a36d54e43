/**
 * A bench's clients on a worker thread of their own, asked one thing at a time: their HTTP and
 * JSON work runs beside the server under test, not on its event loop, as clients on other
 * machines would.
 */
import { Worker, type MessagePort } from "node:worker_threads";

export type ThreadReply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

/** Starts the thread module at `url` with `workerData`; `ask` posts one request and waits for its reply. */
export function askingThread<Request>(url: URL, workerData: unknown) {
  const thread = new Worker(url, { workerData });
  const ask = <T>(req: Request) =>
    new Promise<T>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      thread.once("error", onError);
      thread.once("message", (reply: ThreadReply) => {
        thread.off("error", onError);
        if (reply.ok) resolve(reply.value as T);
        else reject(new Error(`${url.pathname.split("/").pop()}: ${reply.error}`));
      });
      thread.postMessage(req);
    });
  return { ask, close: () => thread.terminate() };
}

/** The thread's side: each request is answered with what `work` resolves to, or the error it fails with. */
export function answerRequests<Request>(port: MessagePort, work: (req: Request) => Promise<unknown>): void {
  port.on("message", (req: Request) => {
    work(req).then(
      (value) => port.postMessage({ ok: true, value } satisfies ThreadReply),
      (err: unknown) => port.postMessage({ ok: false, error: String(err) } satisfies ThreadReply),
    );
  });
}
