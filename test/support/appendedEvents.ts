import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { expect } from "vitest";

/** How many messages each EC_* event stream held, and its last sequence, at one moment. */
export type StreamMark = ReadonlyMap<string, { readonly messages: number; readonly lastSeq: number }>;

export interface AppendedEvents {
  mark(): Promise<StreamMark>;
  /** The events appended since `mark`, as "STREAM subject type", oldest first per stream. */
  since(mark: StreamMark): Promise<string[]>;
  /** Waits until no stream has changed for `quietMs`: the flows a request set off are done. */
  settle(quietMs?: number, timeoutMs?: number): Promise<void>;
}

/** Watches every event stream (EC_*), to show that a refused request appended nothing. */
export async function appendedEvents(nc: NatsConnection): Promise<AppendedEvents> {
  const jsm: JetStreamManager = await jetstreamManager(nc);
  const names: string[] = [];
  for await (const name of jsm.streams.names()) if (name.startsWith("EC_")) names.push(name);
  if (names.length === 0) throw new Error("no EC_* streams on this server");

  async function mark(): Promise<StreamMark> {
    const infos = await Promise.all(names.map(async (name) => [name, (await jsm.streams.info(name)).state] as const));
    return new Map(infos.map(([name, s]) => [name, { messages: s.messages, lastSeq: s.last_seq }]));
  }

  async function since(before: StreamMark): Promise<string[]> {
    const now = await mark();
    const appended: string[] = [];
    for (const name of names) {
      const was = before.get(name)!;
      const is = now.get(name)!;
      if (is.messages === was.messages && is.lastSeq === was.lastSeq) continue;
      for (let seq = was.lastSeq + 1; seq <= is.lastSeq; seq++) {
        const msg = await jsm.streams.getMessage(name, { seq });
        const events = msg ? (msg.json() as { type: string }[]) : [];
        appended.push(...events.map((e) => `${name} ${msg!.subject} ${e.type}`));
      }
      if (is.messages - was.messages !== is.lastSeq - was.lastSeq) appended.push(`${name}: ${was.messages} -> ${is.messages} messages`);
    }
    return appended;
  }

  async function settle(quietMs = 500, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = await mark();
    let quietSince = Date.now();
    while (Date.now() - quietSince < quietMs) {
      if (Date.now() > deadline) throw new Error(`event streams still changing after ${timeoutMs} ms: ${(await since(last)).join(", ")}`);
      await new Promise((r) => setTimeout(r, 100));
      const now = await mark();
      if ([...now].some(([name, s]) => s.lastSeq !== last.get(name)!.lastSeq)) {
        last = now;
        quietSince = Date.now();
      }
    }
  }

  return { mark, since, settle };
}

export interface Reply {
  status: number;
  body: { error?: string; message?: string } & Record<string, unknown>;
}

/** Reads a reply's JSON body; a body that is not JSON shows as { unparsed }. */
export async function replyOf(res: Response): Promise<Reply> {
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Reply["body"] };
  } catch {
    return { status: res.status, body: { unparsed: text } };
  }
}

/** The request is refused with `status`, an `error` code and a message matching `message`, and no event is appended. */
export async function expectRefused(
  events: AppendedEvents,
  name: string,
  request: () => Promise<Reply>,
  status: number,
  error: string | RegExp,
  message: RegExp,
): Promise<void> {
  const before = await events.mark();
  const reply = await request();
  expect({ name, status: reply.status, body: reply.body }).toEqual({
    name,
    status,
    body: expect.objectContaining({ error: typeof error === "string" ? error : expect.stringMatching(error), message: expect.stringMatching(message) }),
  });
  expect({ name, appended: await events.since(before) }).toEqual({ name, appended: [] });
}
