import { Gauge, type Registry } from "prom-client";
import { isUnavailable, type NodeObservations, type Part } from "./observations.js";

type Labels = Record<string, string>;
type Sample = readonly [Labels, number];

/**
 * The node's gauges that need I/O, read when Prometheus scrapes (prom-client calls `collect`),
 * all from one shared observation bounded in time. A series once seen stays, at 0 when its rows
 * are gone (a status no subtask has any more), so a graph drops to 0 rather than ending. A part
 * that could not be read reports no samples and `ec_observation_up{part}` 0: no stale figure
 * passes for a fresh one.
 */
export function registerNodeGauges(registry: Registry, observe: () => Promise<NodeObservations>): void {
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], samples: (o: NodeObservations) => Part<readonly Sample[]>) => {
    const seen = new Map<string, Labels>();
    return new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const current = samples(await observe());
        this.reset();
        if (isUnavailable(current)) return;
        for (const labels of seen.values()) this.set(labels as Partial<Record<L, string>>, 0);
        for (const [labels, value] of current) {
          seen.set(JSON.stringify(labels), labels);
          this.set(labels as Partial<Record<L, string>>, value);
        }
      },
    });
  };
  const map = <T>(part: Part<T>, f: (value: T) => readonly Sample[]): Part<readonly Sample[]> => (isUnavailable(part) ? part : f(part));
  const byStatus = (counts: Record<string, number>): Sample[] => Object.entries(counts).map(([status, n]) => [{ status }, n]);

  gauge("ec_observation_up", "Whether the part of the node's state was read in time at this scrape (1) or not (0)", ["part"], (o) =>
    (["streams", "projections", "queue", "agents", "ledger"] as const).map((part) => [{ part }, isUnavailable(o[part]) ? 0 : 1]),
  );
  gauge("ec_tasks", "Tasks by status, from the tasks projection", ["status"], (o) => map(o.queue, (q) => byStatus(q.tasks)));
  gauge("ec_subtasks", "Subtasks by status (the work queue's depth by state), from the tasks projection", ["status"], (o) => map(o.queue, (q) => byStatus(q.subtasks)));
  gauge("ec_agents", "Agents by status, from the agents projection", ["status"], (o) => map(o.agents, byStatus));
  gauge("ec_stream_messages", "Messages held by each JetStream stream", ["stream"], (o) => map(o.streams, (s) => s.map((x) => [{ stream: x.name }, x.messages])));
  gauge("ec_stream_bytes", "Bytes held by each JetStream stream", ["stream"], (o) => map(o.streams, (s) => s.map((x) => [{ stream: x.name }, x.bytes])));
  gauge("ec_stream_last_sequence", "Last sequence of each JetStream stream", ["stream"], (o) => map(o.streams, (s) => s.map((x) => [{ stream: x.name }, x.lastSeq])));
  gauge("ec_projection_checkpoint", "Last stream sequence each projection applied, per stream", ["projection", "stream"], (o) =>
    map(o.projections, (p) => p.map((x) => [{ projection: x.projection, stream: x.stream }, x.checkpoint])),
  );
  gauge("ec_projection_lag", "Stream sequences a projection has not applied yet: the stream's last sequence minus the projection's checkpoint", ["projection", "stream"], (o) =>
    map(o.projections, (p) => p.map((x) => [{ projection: x.projection, stream: x.stream }, x.lag])),
  );
  gauge("ec_ledger_records", "Records in the ordering ledger, as this node's chainer last saw it", [], (o) => map(o.ledger, (l) => [[{}, l.size]]));
  gauge("ec_ledger_checkpoint_records", "Size of the ledger's latest checkpoint (0: none yet)", [], (o) => map(o.ledger, (l) => [[{}, l.lastCheckpoint?.size ?? 0]]));
  gauge("ec_ledger_lag", "Commits of each chained stream not in the ledger yet", ["stream"], (o) => map(o.ledger, (l) => Object.entries(l.lag).map(([stream, n]) => [{ stream }, n])));
  gauge("ec_consumer_pending", "Messages a JetStream consumer has not delivered yet", ["stream", "consumer"], (o) =>
    map(o.consumers, (c) => c.map((x) => [{ stream: x.stream, consumer: x.name }, x.pending])),
  );
  gauge("ec_consumer_ack_pending", "Messages a JetStream consumer delivered that are not acknowledged yet", ["stream", "consumer"], (o) =>
    map(o.consumers, (c) => c.map((x) => [{ stream: x.stream, consumer: x.name }, x.ackPending])),
  );
  gauge("ec_consumer_redelivered", "Messages a JetStream consumer delivered more than once (the server's num_redelivered)", ["stream", "consumer"], (o) =>
    map(o.consumers, (c) => c.map((x) => [{ stream: x.stream, consumer: x.name }, x.redelivered])),
  );
}
