import type { CommandMeta, HandledCommand } from "../adapters/events/commandHandler.js";

/** The port a use case sends an aggregate's commands through: decided on its stream, appended, answered. */
export type HandleCommand<C> = (subject: string, command: C, meta: CommandMeta) => Promise<HandledCommand>;

/** A handler that can be seeded with a projected state (see commandHandler's prime). */
export type PrimableHandle<C, S> = HandleCommand<C> & { prime?: (subject: string, state: S, version: number) => void };

/** What a use case refuses, and why: the gateway answers it with a status of its own. */
export interface Refusal<Code extends string = string> {
  readonly refused: Code;
  readonly message: string;
}

export const refusal = <Code extends string>(refused: Code, message: string): Refusal<Code> => ({ refused, message });

export const isRefusal = (answer: unknown): answer is Refusal => typeof answer === "object" && answer !== null && "refused" in answer;
