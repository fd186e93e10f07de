import { describe, expect, it } from 'vitest';

import {
  isTerminal,
  newAttachmentRecord,
  RUNTIME_STATUSES,
  type RuntimeStatus,
  type StepState,
  withAllSteps,
} from '../../../shared/model/records';
import { STEP_NAMES } from '../../../shared/model/steps';
import { acceptedSeedRequest } from '../../support/seed';

describe('attachment records', () => {
  it.each<[RuntimeStatus, boolean]>([
    ['Pending', false],
    ['Running', false],
    ['Detaching', false],
    ['Completed', true],
    ['Failed', true],
    ['Canceled', true],
    ['Detached', true],
  ])('%s is terminal: %s', (status, terminal) => {
    expect(RUNTIME_STATUSES).toContain(status);
    expect(isTerminal(status)).toBe(terminal);
  });

  it('a new record starts at the first attach step, every step (detach ones included) Pending, no detach asked', () => {
    const record = newAttachmentRecord('contoso', acceptedSeedRequest(), '2026-11-28T10:00:00.000Z');
    expect(record).toMatchObject({
      runtimeStatus: 'Pending',
      currentStep: 'addIpConfigurations',
      cancelRequested: false,
      detachRequested: false,
    });
    expect(Object.keys(record.steps)).toEqual(STEP_NAMES);
    expect(Object.values(record.steps).every((s) => s.status === 'Pending' && s.attempts === 0)).toBe(true);
  });

  it('withAllSteps gives a row stored before the detach steps existed those steps, never started', () => {
    const done: StepState = { status: 'Succeeded', attempts: 1, detail: { kept: true } };
    const stored = {
      addIpConfigurations: done,
      enableNetworkProxy: done,
      installPrivateCloudPlugin: done,
      createContainerNetwork: done,
    };
    const steps = withAllSteps(stored);
    expect(Object.keys(steps)).toEqual(STEP_NAMES);
    expect(steps.createContainerNetwork).toEqual(done);
    expect(steps.removeContainerNetwork).toEqual({ status: 'Pending', attempts: 0 });
    expect(steps.removeIpConfigurations).toEqual({ status: 'Pending', attempts: 0 });
  });

  it('withAllSteps keeps the steps a row has, and gives each missing one a state of its own', () => {
    const steps = withAllSteps({});
    steps.removeContainerNetwork.attempts = 3;
    expect(steps.removeIpConfigurations.attempts).toBe(0);
    expect(withAllSteps({}).removeContainerNetwork.attempts).toBe(0);
  });
});
