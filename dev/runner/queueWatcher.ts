/**
 * The host's SharedQueueWatcher: when a queue output binding in this process adds a message, the listener of that
 * queue stops waiting and polls at once. Messages added from outside (SDK, other processes) wait for the next poll.
 */
export class QueueWatcher {
  readonly #listeners = new Map<string, Set<() => void>>();

  /** Returns the unsubscribe function. `key` is queueKey() of the watched queue. */
  register(key: string, onMessageAdded: () => void): () => void {
    let listeners = this.#listeners.get(key);
    if (!listeners) {
      listeners = new Set();
      this.#listeners.set(key, listeners);
    }
    listeners.add(onMessageAdded);
    return () => listeners.delete(onMessageAdded);
  }

  notify(key: string): void {
    for (const listener of this.#listeners.get(key) ?? []) listener();
  }
}
