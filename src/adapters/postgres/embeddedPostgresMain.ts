import type { EmbeddedPostgresReport } from "./embeddedPostgres.js";
import { startPgliteServer, type PgliteServerOptions } from "./pgliteServer.js";

/**
 * The embedded Postgres process (forked by startEmbeddedPostgres). It stops cleanly, closing
 * PGlite so the data folder is consistent, when told to, when the node goes away (its IPC
 * channel closes) and on SIGINT or SIGTERM (Ctrl-C reaches the whole process group).
 */
const report = (msg: EmbeddedPostgresReport, then: () => void = () => undefined) => process.send?.(msg, then);

try {
  const opts = JSON.parse(process.argv[2] ?? "{}") as PgliteServerOptions;
  // The password comes in the environment, which only this user can read (argv anyone can).
  const password = process.env.EC_EMBEDDED_POSTGRES_PASSWORD;
  delete process.env.EC_EMBEDDED_POSTGRES_PASSWORD;
  const server = await startPgliteServer({ ...opts, ...(password ? { password } : {}), onError: (err) => console.error(`embedded Postgres: ${String(err)}`) });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`embedded Postgres: stop failed: ${String(err)}`);
        process.exit(1);
      },
    ));
  process.on("message", (m) => m === "stop" && void stop());
  process.on("disconnect", () => void stop());
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  report({ kind: "ready", url: server.url, maxConnections: server.maxConnections });
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  if (process.send) report({ kind: "failed", message }, () => process.exit(1));
  else {
    console.error(message);
    process.exit(1);
  }
}
