import { describe, expect, it } from 'vitest';

import {
  nextStep,
  poisonQueueOf,
  STEP_NAMES,
  stepDefinition,
  STEPS,
  stepsOf,
  workflowOf,
} from '../../../shared/model/steps';

describe('the step table: two workflows, each in its own order', () => {
  it('lists the attach steps, then the detach steps that undo them in reverse order', () => {
    expect(stepsOf('attach').map((s) => s.name)).toEqual([
      'addIpConfigurations',
      'enableNetworkProxy',
      'installPrivateCloudPlugin',
      'createContainerNetwork',
    ]);
    expect(stepsOf('detach').map((s) => s.name)).toEqual(['removeContainerNetwork', 'removeIpConfigurations']);
    expect(STEP_NAMES).toEqual([...stepsOf('attach'), ...stepsOf('detach')].map((s) => s.name));
  });

  it.each(STEPS.map((s) => [s.name, s.workflow] as const))('%s belongs to the %s workflow', (name, workflow) => {
    expect(workflowOf(name)).toBe(workflow);
    expect(stepDefinition(name).workflow).toBe(workflow);
  });

  it('nextStep stays within a workflow: the last attach step hands on to nothing, not to the first detach step', () => {
    expect(nextStep('addIpConfigurations')?.name).toBe('enableNetworkProxy');
    expect(nextStep('installPrivateCloudPlugin')?.name).toBe('createContainerNetwork');
    expect(nextStep('createContainerNetwork')).toBeUndefined();
    expect(nextStep('removeContainerNetwork')?.name).toBe('removeIpConfigurations');
    expect(nextStep('removeIpConfigurations')).toBeUndefined();
    for (const step of STEPS) {
      const next = nextStep(step.name);
      if (next) expect(next.workflow).toBe(step.workflow);
    }
  });

  it('gives every step queue names of its own, and poison queues that follow the host’s convention', () => {
    const queues = STEPS.flatMap((s) => [s.queueName, s.recheckQueueName]);
    expect(new Set(queues).size).toBe(queues.length);
    // Azure Storage queue names: lower-case letters, digits and single hyphens, 3 to 63 characters.
    for (const queue of queues) {
      expect(queue).toMatch(/^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/);
      expect(poisonQueueOf(queue).length).toBeLessThanOrEqual(63);
    }
    expect(stepDefinition('removeIpConfigurations')).toMatchObject({
      queueName: 'step-remove-ip-configurations',
      recheckQueueName: 'step-remove-ip-configurations-rechecks',
    });
  });

  it('refuses a step name it does not know', () => {
    expect(() => stepDefinition('detachEverything' as never)).toThrow(RangeError);
  });
});
