/** Resolves with the error a promise rejects with, so its class and message can be checked. */
export async function failureOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the escalation to fail");
}
