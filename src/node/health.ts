/** One dependency of the node: undefined when it is up, else why it is not. */
export interface HealthCheck {
  readonly name: string;
  readonly check: () => Promise<string | undefined> | string | undefined;
}

export interface HealthReport {
  /** Everything the node needs is up: it can take work. */
  readonly ok: boolean;
  readonly checks: Readonly<Record<string, { readonly ok: boolean; readonly reason?: string }>>;
}

const CHECK_TIMEOUT_MS = 2_000;

/** Runs every check at once, each bounded in time: a dependency that hangs counts as down. */
export async function healthReport(checks: readonly HealthCheck[]): Promise<HealthReport> {
  const results = await Promise.all(
    checks.map(async (c) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${CHECK_TIMEOUT_MS} ms`), CHECK_TIMEOUT_MS)));
      try {
        const reason = await Promise.race([Promise.resolve().then(c.check), timeout]);
        return [c.name, reason === undefined ? { ok: true } : { ok: false, reason }] as const;
      } catch (err) {
        return [c.name, { ok: false, reason: err instanceof Error ? err.message : String(err) }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ok: results.every(([, r]) => r.ok), checks: Object.fromEntries(results) };
}
