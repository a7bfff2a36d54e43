import type { FastifyInstance } from "fastify";
import { pino, type Logger } from "pino";
import type { LogLevel } from "./logLevel.js";

export { LOG_LEVELS, LogLevel } from "./logLevel.js";

/** Where a gateway's log lines go: the node's log (one string per line). */
export type LogLine = (line: string) => void;

/**
 * A pino logger (the one Fastify uses, with a request id bound to every request's child) that
 * writes each entry as one JSON line to the node's log: the level by name, an ISO time, the
 * service, and `reqId` on every line of a request. At "warn" by default: what went wrong; the
 * node passes EC_LOG_LEVEL ("info" adds one line per request).
 */
export function gatewayLogger(service: string, write: LogLine, level: LogLevel = "warn"): Logger {
  return pino(
    { level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    { write: (json: string) => write(json.endsWith("\n") ? json.slice(0, -1) : json) },
  );
}

/** Routes a scraper or a load balancer calls every few seconds: their request lines are at "debug". */
const POLLED = new Set(["/health", "/ready", "/metrics"]);
const MAX_URL = 500;

/**
 * One line per request, when it has been answered: method, route pattern, the URL as sent (cut
 * short), status and milliseconds, under the request's id (also its x-request-id header).
 */
export function logEveryRequest(app: FastifyInstance): void {
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url;
    const line = {
      method: req.method,
      route: route ?? null,
      url: req.url.length > MAX_URL ? `${req.url.slice(0, MAX_URL)}...` : req.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (route !== undefined && (POLLED.has(route) || route.startsWith("/docs"))) req.log.debug(line, "request");
    else req.log.info(line, "request");
  });
}

/**
 * The node's output: lines as they are, but a gateway's JSON lines made readable (pino-pretty)
 * when the output is a terminal. A file or a pipe gets the JSON, one object per line.
 */
export async function terminalLog(out: NodeJS.WriteStream = process.stdout): Promise<LogLine> {
  if (!out.isTTY) return (line) => void out.write(`${line}\n`);
  // Loaded only for a terminal: a node whose output is collected holds none of it.
  const { prettyFactory } = await import("pino-pretty");
  const pretty = prettyFactory({ colorize: true, singleLine: true, translateTime: "SYS:HH:MM:ss.l", ignore: "service", messageFormat: "{service} {msg}" });
  return (line) => void out.write(line.startsWith("{") ? pretty(line) : `${line}\n`);
}
