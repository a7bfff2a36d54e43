import { z } from "zod";

// Apart from gatewayLog.ts so that reading the configuration (edgecoder up's supervisor does) loads no logger.

/** pino's levels, from the fewest lines to the most; "silent" logs nothing. */
export const LOG_LEVELS = ["silent", "fatal", "error", "warn", "info", "debug", "trace"] as const;
export const LogLevel = z.enum(LOG_LEVELS, { error: `EC_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}` });
export type LogLevel = z.infer<typeof LogLevel>;
