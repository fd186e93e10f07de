import { describe, expect, it } from 'vitest';

import { ConcurrencyManager, type FunctionConcurrency } from '../../../dev/runner/dynamicConcurrency';

/** A manager on a hand-driven clock whose event-loop utilization the test sets. */
function harness(maximumFunctionConcurrency = 500) {
  let nowInMs = 0;
  let utilization = 0;
  const changes: string[] = [];
  const manager = new ConcurrencyManager({
    maximumFunctionConcurrency,
    timing: { sampleIntervalInMs: 100, utilizationThreshold: 0.8 },
    sampler: { utilizationSinceLastSample: () => utilization },
    now: () => nowInMs,
    log: (line) => changes.push(line),
  });
  return {
    manager,
    changes,
    advance(ms: number) {
      nowInMs += ms;
    },
    samples(count: number, load: number) {
      utilization = load;
      for (let i = 0; i < count; i++) manager.sample();
    },
  };
}

/** Runs `count` invocations at once (each `durationInMs` long), as a listener that filled every slot would. */
function fill(fn: FunctionConcurrency, count: number, durationInMs = 10): void {
  for (let i = 0; i < count; i++) fn.invocationStarted();
  for (let i = 0; i < count; i++) fn.invocationCompleted(durationInMs);
}

/** `rounds` times: use every slot, let 300 ms pass, ask for room (which adjusts). Returns the levels reached. */
function climb(h: ReturnType<typeof harness>, fn: FunctionConcurrency, rounds: number): number[] {
  const levels: number[] = [];
  for (let i = 0; i < rounds; i++) {
    fill(fn, fn.currentConcurrency);
    h.advance(300);
    fn.availableInvocationCount();
    levels.push(fn.currentConcurrency);
  }
  return levels;
}

describe('FunctionConcurrency', () => {
  it('starts at one and grows only while the process is healthy and the function uses every slot', () => {
    const h = harness();
    const fn = h.manager.forFunction('step');
    expect(fn.availableInvocationCount()).toBe(1);

    h.samples(5, 0.2);
    h.advance(600);
    expect(fn.availableInvocationCount()).toBe(1); // idle: it never needed a second slot

    fill(fn, 1);
    h.advance(600);
    expect(fn.availableInvocationCount()).toBe(2);
    expect(h.changes).toEqual(["Concurrency of 'step': 1 → 2."]);
  });

  it('waits for five healthy samples in a row before it increases', () => {
    const h = harness();
    const fn = h.manager.forFunction('step');
    h.samples(4, 0.2);
    fill(fn, 1);
    h.advance(600);
    expect(fn.availableInvocationCount()).toBe(1);
    h.samples(1, 0.2);
    expect(fn.availableInvocationCount()).toBe(2);
  });

  it('speeds up with each consecutive increase, by at most 6 a step', () => {
    const h = harness();
    const fn = h.manager.forFunction('step');
    h.samples(5, 0.2);
    expect(climb(h, fn, 8)).toEqual([2, 4, 7, 11, 16, 22, 28, 34]);
  });

  it('adjusts a slow function less often than a fast one', () => {
    const h = harness();
    h.samples(5, 0.2);
    h.advance(600);
    const fast = h.manager.forFunction('fast');
    const slow = h.manager.forFunction('slow');
    fill(fast, 1, 10);
    fill(slow, 1, 2_000);
    h.advance(250); // past 200 ms + 10 ms, short of the 500 ms cap for a 2 s function
    expect(fast.availableInvocationCount()).toBe(2);
    expect(slow.availableInvocationCount()).toBe(1);
  });

  it('takes no new work while overloaded, steps down after three overloaded samples, then holds off increasing', () => {
    const h = harness();
    const fn = h.manager.forFunction('step');
    h.samples(5, 0.2);
    climb(h, fn, 2);
    expect(fn.currentConcurrency).toBe(4);

    h.samples(1, 0.95);
    h.advance(600);
    expect(fn.availableInvocationCount()).toBe(0);
    expect(fn.currentConcurrency).toBe(4);
    h.samples(2, 0.95);
    expect(fn.availableInvocationCount()).toBe(0);
    expect(fn.currentConcurrency).toBe(3); // a turn starts slow again: -1

    h.samples(5, 0.2);
    fill(fn, 3);
    h.advance(500);
    expect(fn.availableInvocationCount()).toBe(3); // within 1 s + 10 × the mean duration of the decrease
    h.advance(700);
    expect(fn.availableInvocationCount()).toBe(4);
  });

  it('stays within [1, maximumFunctionConcurrency]', () => {
    const h = harness(3);
    const fn = h.manager.forFunction('step');
    h.samples(5, 0.2);
    climb(h, fn, 4);
    expect(fn.currentConcurrency).toBe(3);
    h.samples(3, 0.95);
    for (let i = 0; i < 5; i++) {
      h.advance(300);
      h.samples(1, 0.95);
      fn.availableInvocationCount();
    }
    expect(fn.currentConcurrency).toBe(1);
  });

  it('counts no room while more run than the current concurrency allows', () => {
    const h = harness();
    const fn = h.manager.forFunction('step');
    fn.invocationStarted();
    fn.invocationStarted();
    expect(fn.availableInvocationCount()).toBe(0);
  });
});

describe('ConcurrencyManager', () => {
  it('wakes whoever waits for room at the next sample', async () => {
    const h = harness();
    let woken = false;
    const waiting = h.manager
      .forFunction('step')
      .nextSample()
      .then(() => {
        woken = true;
      });
    await Promise.resolve();
    expect(woken).toBe(false);
    h.samples(1, 0.5);
    await waiting;
    expect(woken).toBe(true);
  });
});
