import { pino, type Level, type Logger } from "pino";

/** Where a gateway's log lines go: the node's log (one string per line). */
export type LogLine = (line: string) => void;

interface Entry {
  level: number;
  msg?: string;
  reqId?: string;
  err?: { type?: string; message?: string; stack?: string };
  [field: string]: unknown;
}

/** One entry as a line of the node's log: the service, the level, the request, then the stack. */
function lineOf(service: string, entry: Entry): string {
  const { level, msg, reqId, err, ...fields } = entry;
  const request = reqId ? ` [request ${reqId}]` : "";
  const rest = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : "";
  const why = err?.stack ? `\n${err.stack}` : err?.message ? `: ${err.message}` : "";
  return `${service} ${pino.levels.labels[level] ?? level}${request}: ${msg ?? ""}${rest}${why}`;
}

/**
 * A pino logger (the one Fastify uses, with a request id bound to every request's child) that
 * writes to the node's log. At "warn" by default: what went wrong, not every request.
 */
export function gatewayLogger(service: string, write: LogLine, level: Level = "warn"): Logger {
  return pino({ level, base: undefined, timestamp: false }, { write: (json: string) => write(lineOf(service, JSON.parse(json) as Entry)) });
}
