/** Tracks running work so callers can wait for room (newBatchThreshold) or for everything to finish (stop). */
export class TaskSet {
  readonly #running = new Set<Promise<void>>();

  get size(): number {
    return this.#running.size;
  }

  /** `work` must not reject; the set only observes completion. */
  add(work: Promise<void>): void {
    const tracked = work.finally(() => this.#running.delete(tracked));
    this.#running.add(tracked);
  }

  /** Resolves when any running work finishes (at once if none is running). */
  async nextCompletion(): Promise<void> {
    if (this.#running.size > 0) await Promise.race(this.#running);
  }

  async waitUntilAtMost(count: number): Promise<void> {
    while (this.#running.size > count) await Promise.race(this.#running);
  }

  /** Resolves true when everything finished, false when the deadline passed first. */
  drain(timeoutInMs: number): Promise<boolean> {
    return finishesWithin(this.waitUntilAtMost(0), timeoutInMs);
  }
}

/** True if `work` settles within the timeout; the work itself is not cancelled either way. */
export async function finishesWithin(work: Promise<unknown>, timeoutInMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, timeoutInMs));
  });
  try {
    return await Promise.race([work.then(() => true as const), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
