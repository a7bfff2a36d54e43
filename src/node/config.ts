import { resolve } from "node:path";
import { z } from "zod";

const Port = z.coerce.number().int().min(1).max(65535);

/** Everything a node is configured with; each field comes from a flag, else an env var, else the default. */
export const NodeConfig = z.object({
  dataDir: z.string().min(1).transform((p) => resolve(p)),
  natsUrl: z.string().regex(/^(nats|tls|ws|wss):\/\//, "must be a nats:// URL").optional(),
  embeddedNatsPort: Port,
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
  host: z.string().min(1),
  controlPlanePort: Port,
  adminToken: z.string().min(16, "must be at least 16 characters").optional(),
  streamReplicas: z.coerce.number().int().min(1).max(5),
});
export type NodeConfig = z.infer<typeof NodeConfig>;

export const defaultDatabaseUrl = "postgres://postgres@127.0.0.1:5432/edgecoder";

export function nodeConfigFrom(flags: Partial<Record<keyof NodeConfig, unknown>>, env = process.env): NodeConfig {
  const parsed = NodeConfig.safeParse({
    dataDir: flags.dataDir ?? env.EC_DATA_DIR ?? ".data/node",
    natsUrl: flags.natsUrl ?? env.NATS_URL,
    embeddedNatsPort: flags.embeddedNatsPort ?? env.EC_EMBEDDED_NATS_PORT ?? 4322,
    databaseUrl: flags.databaseUrl ?? env.DATABASE_URL ?? defaultDatabaseUrl,
    host: flags.host ?? env.EC_HOST ?? "127.0.0.1",
    controlPlanePort: flags.controlPlanePort ?? env.CONTROL_PLANE_PORT ?? 4303,
    adminToken: flags.adminToken ?? env.ADMIN_API_TOKEN,
    streamReplicas: flags.streamReplicas ?? env.EC_STREAM_REPLICAS ?? 1,
  });
  if (!parsed.success) throw new Error(`bad configuration: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
