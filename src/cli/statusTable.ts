import type { NodeStatus } from "../app/status/nodeStatus.js";

/** Rows as columns, each as wide as its widest cell; the columns of figures (`right`) aligned right. */
export function columns(rows: readonly (readonly string[])[], opts: { indent?: string; right?: readonly number[] } = {}): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const right = new Set(opts.right ?? []);
  return rows.map((row) => (opts.indent ?? "  ") + row.map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd());
}

/** 1536 -> "1.5 KiB". */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) (v /= 1024), u++;
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** "3h 04m", "12m 05s", "40s". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** "queued 2, assigned 1"; "none" for no rows. */
const counts = (c: Record<string, number>) =>
  Object.keys(c).length === 0
    ? "none"
    : Object.entries(c)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, n]) => `${k} ${n}`)
        .join(", ");

type Section<T> = T | { unavailable: string };
const section = <T>(title: string, part: Section<T>, body: (value: T) => string[]): string[] =>
  typeof part === "object" && part !== null && "unavailable" in part ? [title, `  unavailable: ${part.unavailable}`] : [title, ...body(part)];

const shortHash = (h: string) => (h.length > 16 ? `${h.slice(0, 16)}...` : h);

/** `edgecoder status` as a person reads it: one section per part, each readable alone. */
export function statusTable(s: NodeStatus, now: Date): string {
  const started = new Date(s.node.startedAt);
  const lines: string[] = [
    ...columns(
      [
        ["node", s.node.publicKey],
        ["started", `${s.node.startedAt} (up ${duration(now.getTime() - started.getTime())})`],
        ["coordinator", s.node.urls.coordinator],
        ["inference", s.node.urls.inference],
        ["control plane", s.node.urls.controlPlane],
      ],
      { indent: "" },
    ),
    "",
    `dependencies: ${s.health.ok ? "all up" : "SOMETHING IS DOWN"}`,
    ...columns(
      Object.entries(s.health.checks)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, c]) => [name, c.ok ? "up" : `DOWN: ${c.reason ?? "no reason given"}`]),
    ),
    "",
    ...section("streams", s.streams, (streams) => columns([["stream", "messages", "bytes", "last seq"], ...streams.map((x) => [x.name, String(x.messages), bytes(x.bytes), String(x.lastSeq)])], { right: [1, 2, 3] })),
    "",
    ...section("projections", s.projections, (p) => columns([["projection", "stream", "checkpoint", "last seq", "lag"], ...p.map((x) => [x.projection, x.stream, String(x.checkpoint), String(x.streamLastSeq), String(x.lag)])], { right: [2, 3, 4] })),
    "",
    ...section("queue", s.queue, (q) => columns([["tasks", counts(q.tasks)], ["subtasks", counts(q.subtasks)]])),
    "",
    ...section("agents", s.agents, (a) => [`  ${counts(a)}`]),
    "",
    ...section("ledger", s.ledger, (l) =>
      columns([
        ["head", `${l.size} records, ${l.size === 0 ? "empty" : shortHash(l.headHash)}`],
        ["last checkpoint", l.lastCheckpoint ? `${l.lastCheckpoint.size} records, ${shortHash(l.lastCheckpoint.hash)}` : "none yet"],
        ["not chained yet", counts(l.lag)],
      ]),
    ),
    "",
    ...section("consumers", s.consumers, (c) => columns([["stream", "consumer", "pending", "unacked", "redelivered"], ...c.map((x) => [x.stream, x.name, String(x.pending), String(x.ackPending), String(x.redelivered)])], { right: [2, 3, 4] })),
  ];
  return lines.join("\n");
}
