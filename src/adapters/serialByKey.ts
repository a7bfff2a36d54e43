/**
 * Runs the work given under one key one after another, in the order given, while work under
 * other keys runs freely. A key is forgotten once its last work has settled, so the map holds
 * only keys with work in flight. A failure is returned to its caller and does not stop the next.
 */
export function serialByKey(): <T>(key: string, work: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key);
    const run = previous ? previous.then(work, work) : work();
    const tail: Promise<unknown> = run.then(
      () => tails.get(key) === tail && tails.delete(key),
      () => tails.get(key) === tail && tails.delete(key),
    );
    tails.set(key, tail);
    return run;
  };
}
