/** The wall clock, for a node that injects none: use cases take `now` so tests can set the time. */
export const systemClock = (): Date => new Date();
