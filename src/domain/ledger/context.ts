import type { BoundedContext } from "../context.js";
import { ANCHOR_SUBJECT, CHAIN_SUBJECT, CHECKPOINT_SUBJECT, LEDGER_STREAM, ledgerEventSpecs } from "./record.js";

const lastToken = (subject: string) => subject.slice(subject.lastIndexOf(".") + 1);

/**
 * The ordering ledger: the chain of records, its checkpoints and their anchors, each one
 * subject the context has exactly one of. Its writers are the chainer and the anchoring loop,
 * not command handlers, so it declares no aggregate with a decider; it is not chained itself.
 */
export const ledgerContext = {
  name: "ledger",
  stream: LEDGER_STREAM,
  events: ledgerEventSpecs,
  aggregates: [],
  singletons: [CHAIN_SUBJECT, CHECKPOINT_SUBJECT, ANCHOR_SUBJECT].map(lastToken),
  chained: false,
} as const satisfies BoundedContext;
