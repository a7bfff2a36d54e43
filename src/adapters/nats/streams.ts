import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { jetstreamManager, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { packageRoot } from "../packageRoot.js";
import { parseSubject } from "../../domain/events/envelope.js";

export const streamsDir = join(packageRoot, "deploy", "nats", "streams");

/** The part of a stream declaration we own; anything else keeps the server's default. */
const StreamDeclaration = z.looseObject({
  name: z.string().regex(/^[A-Z0-9_]+$/),
  subjects: z.array(z.string()).min(1),
  num_replicas: z.number().int().min(1).max(5),
});
export type StreamDeclaration = Partial<StreamConfig> & z.infer<typeof StreamDeclaration>;

export async function loadStreamDeclarations(dir = streamsDir): Promise<StreamDeclaration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  return Promise.all(
    files.map(async (f) => {
      const parsed = StreamDeclaration.safeParse(JSON.parse(await readFile(join(dir, f), "utf8")));
      if (!parsed.success) throw new Error(`${join(dir, f)}: ${z.prettifyError(parsed.error)}`);
      return parsed.data as StreamDeclaration;
    }),
  );
}

// Fields a server refuses to change on an existing stream: a difference is reported, never "fixed".
const IMMUTABLE: (keyof StreamConfig)[] = ["storage", "retention"];

export interface ApplyOptions {
  readonly replicas?: number;
  readonly dir?: string;
}

export type StreamApplyOutcome = { name: string; action: "created" | "updated" | "unchanged" };

/** Creates or updates every declared stream; running it again changes nothing. */
export async function applyStreams(nc: NatsConnection, opts: ApplyOptions = {}): Promise<StreamApplyOutcome[]> {
  const jsm = await jetstreamManager(nc);
  const outcomes: StreamApplyOutcome[] = [];
  for (const decl of await loadStreamDeclarations(opts.dir)) {
    const wanted: StreamDeclaration = { ...decl, num_replicas: opts.replicas ?? decl.num_replicas };
    outcomes.push({ name: decl.name, action: await applyStream(jsm, wanted) });
  }
  return outcomes;
}

async function applyStream(jsm: JetStreamManager, wanted: StreamDeclaration): Promise<StreamApplyOutcome["action"]> {
  const current = await jsm.streams.info(wanted.name).then(
    (info) => info.config,
    (err: unknown) => {
      if ((err as { code?: number }).code === 404 || /not found/i.test(String(err))) return undefined;
      throw err;
    },
  );
  if (!current) {
    await jsm.streams.add(wanted);
    return "created";
  }
  const changed = (Object.keys(wanted) as (keyof StreamConfig)[]).filter(
    (k) => JSON.stringify(current[k]) !== JSON.stringify(wanted[k]),
  );
  if (changed.length === 0) return "unchanged";
  const immutable = changed.filter((k) => IMMUTABLE.includes(k));
  if (immutable.length > 0) {
    throw new Error(`stream ${wanted.name}: ${immutable.join(", ")} differ from deploy/nats and cannot be changed in place`);
  }
  await jsm.streams.update(wanted.name, { ...current, ...wanted });
  return "updated";
}

/** Which stream holds a subject: ec.<context>.<aggregate>[.<id>] lives in EC_<CONTEXT>. */
export function streamForSubject(subject: string): string {
  const parts = parseSubject(subject);
  if (!parts) throw new Error(`subject ${subject} is not ec.<context>.<aggregate>[.<id>]`);
  return `EC_${parts.context.toUpperCase()}`;
}
