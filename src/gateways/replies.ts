import { z } from "zod";

/**
 * What every refusal and failure answers: a code to branch on and a sentence for a person. A
 * 500 adds the request id to find it by in the node's log (installErrorReplies).
 */
export const ErrorReply = z.object({ error: z.string(), message: z.string(), requestId: z.string().optional() });
export type ErrorReply = z.infer<typeof ErrorReply>;

/**
 * The statuses any route may answer whatever it does: 400 for input its schema refuses, 500 for
 * a fault. A route with a body adds BODY_ERRORS, one behind a token or a signature AUTH_ERRORS.
 */
export const ROUTE_ERRORS = { 400: ErrorReply, 500: ErrorReply } as const;
/** A body over the limit (413; also events too big for one commit) or not JSON (415). */
export const BODY_ERRORS = { 413: ErrorReply, 415: ErrorReply } as const;
export const AUTH_ERRORS = { 401: ErrorReply } as const;

/** A command's answer: the types of the events it appended (none: it was decided before). */
export const EventsReply = z.object({ events: z.array(z.string()) });
