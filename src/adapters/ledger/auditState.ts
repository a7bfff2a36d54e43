import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { EventEnvelope } from "../../domain/events/envelope.js";
import { fromHex, merkleAccumulator, toHex, type MerkleFrontier } from "../../domain/ledger/merkle.js";
import { Checkpoint, Hash } from "../../domain/ledger/record.js";
import type { AuditPosition, LedgerLocation } from "./audit.js";
import type { SavedSources } from "./ledgerSources.js";

const Count = z.number().int().min(0);
const Frontier = z.object({ size: Count, frontier: z.array(Hash) });

/** What a following auditor writes down after each checkpoint it verified, to resume from there. */
export const AuditState = z.object({
  version: z.literal(1),
  savedAt: z.string(),
  ledger: z.object({ stream: z.string(), chainSubject: z.string(), checkpointSubject: z.string(), created: z.string() }),
  /** The last ledger stream sequence verified. */
  seq: Count,
  progress: z.object({ count: Count, headHash: Hash }),
  tree: Frontier,
  checkpoints: Count,
  lastCheckpoint: z.object({ seq: z.number().int().min(1), envelope: EventEnvelope }).optional(),
  sinceCheckpoint: z.object({ tree: Frontier, leaves: z.array(Hash) }),
  pendingCheckpoints: z.array(z.object({ seq: z.number().int().min(1), envelope: EventEnvelope })),
  sources: z.array(z.object({ stream: z.string(), created: z.string(), chained: z.string() })),
});
export type AuditState = z.infer<typeof AuditState>;

const frontierOut = (f: MerkleFrontier) => ({ size: f.size, frontier: f.frontier.map(toHex) });
const frontierIn = (f: z.infer<typeof Frontier>): MerkleFrontier => ({ size: f.size, frontier: f.frontier.map(fromHex) });

export function auditStateOf(position: AuditPosition, ledger: LedgerLocation & { created: string }, sources: SavedSources[]): AuditState {
  return {
    version: 1,
    savedAt: new Date().toISOString(),
    ledger: { stream: ledger.stream, chainSubject: ledger.chainSubject, checkpointSubject: ledger.checkpointSubject, created: ledger.created },
    seq: position.seq,
    progress: { ...position.progress },
    tree: frontierOut(position.tree),
    checkpoints: position.checkpoints,
    ...(position.lastCheckpoint ? { lastCheckpoint: { seq: position.lastCheckpoint.seq, envelope: position.lastCheckpoint.envelope } } : {}),
    sinceCheckpoint: { tree: frontierOut(position.sinceCheckpoint.tree), leaves: [...position.sinceCheckpoint.leaves] },
    pendingCheckpoints: position.pendingCheckpoints.map(({ seq, envelope }) => ({ seq, envelope })),
    sources,
  };
}

/** The position a state holds, after checking it is whole: its parts must describe the same records. */
export function positionOf(state: AuditState): AuditPosition {
  const wrong = (why: string) => new Error(`the audit state is inconsistent: ${why}`);
  const tree = frontierIn(state.tree);
  const base = frontierIn(state.sinceCheckpoint.tree);
  if (tree.size !== state.progress.count) throw wrong(`its tree holds ${tree.size} records, its chain ${state.progress.count}`);
  if (base.size + state.sinceCheckpoint.leaves.length !== tree.size) throw wrong("the records since the last checkpoint do not add up");
  const replay = merkleAccumulator(base);
  for (const leaf of state.sinceCheckpoint.leaves) replay.append(fromHex(leaf));
  if (toHex(replay.root()) !== toHex(merkleAccumulator(tree).root())) throw wrong("the tree is not the last checkpoint's tree and the records since");
  const last = state.sinceCheckpoint.leaves.at(-1);
  if (last !== undefined && last !== state.progress.headHash) throw wrong("the head hash is not the last record's");
  let lastCheckpoint: AuditPosition["lastCheckpoint"];
  if (state.lastCheckpoint) {
    const { envelope, seq } = state.lastCheckpoint;
    const data = Checkpoint.parse(envelope.data);
    if (data.size !== base.size) throw wrong(`the last checkpoint names ${data.size} records, its tree ${base.size}`);
    lastCheckpoint = { ...data, signer: envelope.signer, seq, envelope };
  } else if (base.size !== 0) throw wrong("a tree at a checkpoint without the checkpoint");
  for (const { envelope } of state.pendingCheckpoints) {
    const waiting = Checkpoint.safeParse(envelope.data);
    if (!waiting.success || waiting.data.size <= tree.size) throw wrong("a checkpoint waits for records already verified");
  }
  return {
    seq: state.seq,
    progress: state.progress,
    tree,
    checkpoints: state.checkpoints,
    ...(lastCheckpoint ? { lastCheckpoint } : {}),
    sinceCheckpoint: { tree: base, leaves: state.sinceCheckpoint.leaves },
    pendingCheckpoints: state.pendingCheckpoints,
  };
}

/** The state in `file`, or undefined when there is none yet. */
export async function loadAuditState(file: string): Promise<AuditState | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not JSON: not an audit state`);
  }
  const parsed = AuditState.safeParse(json);
  if (!parsed.success) throw new Error(`${file} is not an audit state: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Written whole or not at all: a crash while saving leaves the previous state. */
export async function saveAuditState(file: string, state: AuditState): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(state));
  await rename(temporary, file);
}
