/**
 * Tells waiting pulls that the queue may have changed: the node's tasks projection applied new
 * commits (a subtask queued, a lease ended). A waiter wakes at the next notice or at its
 * deadline, whichever comes first, and then looks at the queue itself: a notice says "look",
 * never "there is work", so a missed or spurious one costs a look, not a wrong answer.
 */
export interface WorkSignal {
  notify(): void;
  /** Resolves at the next notice, after `ms`, or when `abort` fires. */
  next(ms: number, abort?: AbortSignal): Promise<void>;
}

export function workSignal(): WorkSignal {
  let waiters: (() => void)[] = [];
  return {
    notify() {
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
    },
    next(ms, abort) {
      return new Promise<void>((resolve) => {
        if (abort?.aborted) return resolve();
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          abort?.removeEventListener("abort", finish);
          waiters = waiters.filter((w) => w !== finish);
          resolve();
        };
        const timer = setTimeout(finish, ms);
        abort?.addEventListener("abort", finish, { once: true });
        waiters.push(finish);
      });
    },
  };
}
