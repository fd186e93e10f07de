import { setTimeout as sleep } from 'node:timers/promises';

import type { ProxiedRequest, ProxyDecision } from './httpsFaultProxy';
import type { QueueRequestInfo } from './queueLeaseProxy';
import type { ReliabilityStack } from './reliabilityStack';

type Hook = (request: ProxiedRequest) => ProxyDecision | undefined;

/**
 * The runner killed with SIGKILL at an exact point: the fault proxies hold the answer of a chosen request once the
 * remote system has acted (or the queue proxy holds a chosen request, which then never reaches storage) and kill the
 * runner at that moment; `recover` then ends the dead runner's message leases, as the passing of its 10-minute
 * lease would, and starts a new runner. Pass `ncProxy` and `armProxy` to startReliabilityStack; `stack` is a getter
 * because the stack starts in `beforeAll`.
 */
export function crashPoints(stack: () => ReliabilityStack, options: { leaseSeconds: number }) {
  let ncHook: Hook | undefined;
  let armHook: Hook | undefined;
  /** Resolves once the runner has been killed at the hooked point. */
  let crashed: Promise<void> = Promise.resolve();
  let crash: () => void = () => {};

  function armCrash(): void {
    crashed = new Promise<void>((resolve) => {
      crash = () => void stack().killRunners().then(resolve);
    });
  }
  /** A hook that holds the answer of the first matching request and kills the runner once the server has acted. */
  function crashAfter(match: (request: ProxiedRequest) => boolean): Hook {
    let fired = false;
    armCrash();
    return (request) => {
      if (fired || !match(request)) return undefined;
      fired = true;
      return { after: 'hold', onForwarded: () => crash() };
    };
  }
  /** Waits for the crash; fails (instead of hanging) when the hooked point is never reached. */
  async function reached(): Promise<void> {
    const timeout = sleep(20_000).then(() => {
      throw new Error('the crash point was never reached');
    });
    await Promise.race([crashed, timeout]);
  }

  return {
    ncProxy: (request: ProxiedRequest) => ncHook?.(request),
    armProxy: (request: ProxiedRequest) => armHook?.(request),
    /** Before each test: no hook, no queue rule, nothing held. */
    reset: (): void => {
      ncHook = undefined;
      armHook = undefined;
      stack().queueProxy.clearRules();
      stack().queueProxy.dropHeld();
    },
    /** Kills the runner once the Network Controller has acted on the first matching request. */
    crashAfterController: (match: (request: ProxiedRequest) => boolean): void => {
      ncHook = crashAfter(match);
    },
    /** Kills the runner once ARM has acted on the first matching request. */
    crashAfterArm: (match: (request: ProxiedRequest) => boolean): void => {
      armHook = crashAfter(match);
    },
    /** Holds the first matching queue request (it never reaches storage) and kills the runner. */
    crashOnQueue: (match: (info: QueueRequestInfo) => boolean): void => {
      armCrash();
      stack().queueProxy.addRule({ match, action: 'hold', times: 1, onMatch: () => crash() });
    },
    reached,
    /** After the crash: end the dead runner's leases (visible after the step lease) and start a new runner. */
    recover: async (): Promise<void> => {
      await reached();
      // What the dead runner was sending never reaches storage.
      stack().queueProxy.dropHeld();
      await stack().queueProxy.expire({ states: ['leased', 'orphaned'], visibleInSeconds: options.leaseSeconds });
      await stack().startRunner();
    },
  };
}
