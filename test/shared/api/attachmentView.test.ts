import { describe, expect, it } from 'vitest';

import { attachmentView } from '../../../shared/api/attachmentView';
import { newAttachmentRecord, type StepState } from '../../../shared/model/records';
import { stepsOf } from '../../../shared/model/steps';
import { BASE } from '../../support/functionsHost';
import { acceptedSeedRequest } from '../../support/seed';

const URL = `${BASE}/contoso/attachments/seed-1`;
const internal: StepState = {
  status: 'Running',
  attempts: 2,
  startedTime: '2026-11-28T10:00:00.000Z',
  checkpoint: { nicId: 'ContainerHostVM1_Net0', operation: { url: 'https://nc/op/1', startedAtInMs: 1 } },
  leaseOwner: 'inv-1',
  leaseExpiresAtInMs: 2,
  awaitingRecheck: 3,
  lastError: { source: 'NetworkController', code: 'Busy', message: 'busy', retryable: true },
};

describe('attachmentView: the detach steps', () => {
  it('are not shown until a detach is asked for; `steps` are the attach steps only', () => {
    const view = attachmentView(newAttachmentRecord('contoso', acceptedSeedRequest(), '2026-11-28T09:00:00.000Z'), URL);
    expect(view).not.toHaveProperty('detachSteps');
    expect(view.steps.map((s) => s.name)).toEqual(stepsOf('attach').map((s) => s.name));
  });

  it('are listed in their own order with their titles once a detach is asked for, with no internal bookkeeping', () => {
    const record = newAttachmentRecord('contoso', acceptedSeedRequest(), '2026-11-28T09:00:00.000Z');
    const view = attachmentView(
      {
        ...record,
        runtimeStatus: 'Detaching',
        currentStep: 'removeIpConfigurations',
        detachRequested: true,
        steps: {
          ...record.steps,
          removeContainerNetwork: {
            status: 'Succeeded',
            attempts: 1,
            endedTime: '2026-11-28T10:00:00.000Z',
            detail: { removed: false, reason: 'kept, in use by 1 other attachment(s)' },
          },
          removeIpConfigurations: internal,
        },
      },
      URL,
    );
    expect(view.steps).toHaveLength(4);
    expect(view.detachSteps).toEqual([
      {
        order: 1,
        name: 'removeContainerNetwork',
        title: 'Remove the container network, unless another attachment uses it',
        status: 'Succeeded',
        attempts: 1,
        startedTime: null,
        endedTime: '2026-11-28T10:00:00.000Z',
        detail: { removed: false, reason: 'kept, in use by 1 other attachment(s)' },
      },
      {
        order: 2,
        name: 'removeIpConfigurations',
        title: "Remove the attachment's IP configurations from the VM NIC",
        status: 'Running',
        attempts: 2,
        startedTime: '2026-11-28T10:00:00.000Z',
        endedTime: null,
        lastError: internal.lastError,
      },
    ]);
    expect(JSON.stringify(view)).not.toMatch(/checkpoint|lease|awaitingRecheck|https:\/\/nc/);
  });
});
