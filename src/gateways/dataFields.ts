/**
 * The body fields that hold data, by request: what a program printed and the code that ran, as
 * a worker reports them, and the failed tries an escalation carries. Kept exactly, NULs included
 * (a program may print one). Every other string of every request is typed text, which refuses a
 * NUL (src/domain/text.ts); code a person types to resolve an escalation is text too.
 */
export const RESULT_DATA = ["/code", "/output", "/stderr"] as const;
export const ESCALATION_DATA = ["/history/*/code", "/history/*/stderr", "/history/*/output"] as const;
