/**
 * Tells waiting pulls that the queue may have changed: the node's tasks projection applied new
 * commits (a subtask queued, a lease ended), or, for work another coordinator queued in a shared
 * database, a look at the queue found some. A woken pull looks at the queue itself: a notice
 * says "look", never "there is work", so a missed or spurious one costs a look, not a wrong answer.
 *
 * A notice wakes as many waiters as it says (the commits that arrived, and a few more), the
 * longest waiting first, not all of them: a thousand idle workers must not all run a claim for
 * one new subtask. Those that find nothing wait again at the back of the line.
 */
export interface WorkSignal {
  /** Wakes up to `count` waiters, longest waiting first (all of them by default). */
  notify(count?: number): void;
  /** Resolves at a notice that wakes this waiter, after `ms`, or when `abort` fires. */
  next(ms: number, abort?: AbortSignal): Promise<void>;
  stop(): void;
}

export interface WorkSignalOptions {
  /** Whether anything is queued now: looked at every `lookEveryMs` while pulls wait. */
  readonly anyQueued?: () => Promise<boolean>;
  readonly lookEveryMs?: number;
  /** How many waiters a look that finds work wakes. */
  readonly wakeOnLook?: number;
  readonly onError?: (err: unknown) => void;
}

export function workSignal(opts: WorkSignalOptions = {}): WorkSignal {
  let waiters: (() => void)[] = [];
  let looking: NodeJS.Timeout | undefined;
  let stopped = false;

  // One look at the queue per interval for the whole node, and only while someone waits: the
  // cost of idle workers does not grow with how many there are.
  const scheduleLook = () => {
    if (!opts.anyQueued || looking || stopped || waiters.length === 0) return;
    looking = setTimeout(() => {
      void opts.anyQueued!()
        .then((queued) => {
          if (queued) notify(opts.wakeOnLook ?? 4);
        }, opts.onError)
        .finally(() => {
          looking = undefined;
          scheduleLook();
        });
    }, opts.lookEveryMs ?? 1_000);
    looking.unref();
  };

  function notify(count = Number.POSITIVE_INFINITY) {
    const woken = waiters.slice(0, count);
    waiters = waiters.slice(woken.length);
    for (const wake of woken) wake();
  }

  return {
    notify,
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
        scheduleLook();
      });
    },
    stop() {
      stopped = true;
      clearTimeout(looking);
      notify();
    },
  };
}
