/**
 * The WebJobs RandomizedExponentialBackoffStrategy: after each empty poll the wait grows by
 * 2^(n-1) × minimum × a random factor in [0.8, 1.2), capped at the maximum; any message found resets it.
 */
const RANDOMIZATION_FACTOR = 0.2;

export class RandomizedExponentialBackoff {
  readonly #minimumInMs: number;
  readonly #maximumInMs: number;
  readonly #random: () => number;
  #currentInMs: number;
  #exponent = 1;

  constructor(options: { minimumInMs: number; maximumInMs: number; random?: () => number }) {
    if (options.minimumInMs <= 0 || options.maximumInMs < options.minimumInMs) {
      throw new RangeError('Backoff needs 0 < minimumInMs <= maximumInMs.');
    }
    this.#minimumInMs = options.minimumInMs;
    this.#maximumInMs = options.maximumInMs;
    this.#random = options.random ?? Math.random;
    this.#currentInMs = options.minimumInMs;
  }

  /** The next wait; `foundWork` says whether the polls since the previous wait found messages. */
  nextDelayInMs(foundWork: boolean): number {
    if (foundWork) {
      this.#currentInMs = this.#minimumInMs;
      this.#exponent = 1;
      return this.#currentInMs;
    }
    if (this.#currentInMs === this.#maximumInMs) return this.#currentInMs;
    const factor = 1 - RANDOMIZATION_FACTOR + this.#random() * 2 * RANDOMIZATION_FACTOR;
    const candidate = this.#minimumInMs + factor * 2 ** (this.#exponent - 1) * this.#minimumInMs;
    if (candidate < this.#maximumInMs) {
      this.#currentInMs = candidate;
      this.#exponent++;
    } else {
      this.#currentInMs = this.#maximumInMs;
    }
    return this.#currentInMs;
  }
}
