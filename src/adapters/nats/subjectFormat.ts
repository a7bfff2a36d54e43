import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { contexts, reservedStreams, undeclaredSubject } from "../../domain/contexts.js";

export interface UndeclaredSubject {
  readonly stream: string;
  readonly subject: string;
  readonly messages: number;
  readonly reason: string;
}

/**
 * Subjects on the node's streams that no context declares. Subjects are ec.<context>.<aggregate>.<id>;
 * the only three-token subjects are a context's singletons (ec.ledger.chain), so asking each
 * stream for its three-token subjects finds data of the older ec.<context>.<id> format at the
 * cost of a listing that stays small however much work the streams hold.
 */
export async function findUndeclaredSubjects(nc: NatsConnection): Promise<UndeclaredSubject[]> {
  const jsm = await jetstreamManager(nc);
  const found: UndeclaredSubject[] = [];
  for (const { stream, name } of [...contexts, ...reservedStreams]) {
    const info = await jsm.streams.info(stream, { subjects_filter: `ec.${name}.*` });
    for (const [subject, messages] of Object.entries(info.state.subjects ?? {})) {
      const reason = undeclaredSubject(subject);
      if (reason) found.push({ stream, subject, messages, reason });
    }
  }
  return found;
}

/** The streams hold data this version cannot read: a fresh start is the fix, and nothing was changed. */
export function undeclaredSubjectsMessage(found: readonly UndeclaredSubject[]): string {
  const examples = found
    .slice(0, 3)
    .map((f) => `${f.stream} ${f.subject} (${f.messages} message${f.messages === 1 ? "" : "s"})`)
    .join("; ");
  return (
    `the event streams hold ${found.length} subject(s) in a format this version does not read (subjects are now ec.<context>.<aggregate>.<id>), e.g. ${examples}. ` +
    "They were written by an older EdgeCoder. Nothing was changed. Start with a fresh data folder (--data-dir, or move the old one away) " +
    "or, with an external NATS (--nats-url), with empty EC_* streams (a new JetStream store); the old streams stay readable by the version that wrote them"
  );
}
