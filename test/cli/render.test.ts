import { describe, expect, it } from 'vitest';

import type { AttachmentDocument, StepView } from '../../cli/documents';
import { documentLines, failureLines, formatDuration, PlainProgress, TtyProgress } from '../../cli/render';

const T0 = Date.parse('2026-12-06T00:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const NAMES = ['addIpConfigurations', 'enableNetworkProxy', 'installPrivateCloudPlugin', 'createContainerNetwork'];

function step(order: number, status: string, attempts = 0, started?: number, ended?: number): StepView {
  return {
    order,
    name: NAMES[order - 1] ?? 'x',
    title: `Step ${order}`,
    status,
    attempts,
    startedTime: started === undefined ? null : at(started),
    endedTime: ended === undefined ? null : at(ended),
  };
}

function doc(runtimeStatus: AttachmentDocument['runtimeStatus'], steps: StepView[], extra = {}): AttachmentDocument {
  return {
    id: 'a1',
    tenantId: 't1',
    runtimeStatus,
    currentStep: null,
    createdTime: at(0),
    lastUpdatedTime: at(4),
    statusQueryGetUri: 'http://127.0.0.1/api/tenants/t1/attachments/a1',
    steps,
    ...extra,
  };
}

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 120, write: (text: string) => chunks.push(text) } };
}

const failed = doc('Failed', [step(1, 'Failed', 1, 0, 1), step(2, 'Pending'), step(3, 'Pending'), step(4, 'Pending')], {
  currentStep: 'addIpConfigurations',
  lastError: {
    source: 'NetworkController',
    code: 'InvalidResourceReference',
    message: 'The ACL reference is not valid.',
    statusCode: 500,
  },
});
failed.steps![0]!.detail = { nic: 'ContainerHostVM1_Net0' };

describe('PlainProgress (no terminal)', () => {
  it('writes one line per change of status, step status or attempt, and nothing for an unchanged poll', () => {
    const { chunks, stream } = sink(false);
    const progress = new PlainProgress(stream);
    const running = doc('Running', [
      step(1, 'Running', 1, 0),
      step(2, 'Pending'),
      step(3, 'Pending'),
      step(4, 'Pending'),
    ]);
    progress.update(doc('Pending', [step(1, 'Pending'), step(2, 'Pending'), step(3, 'Pending'), step(4, 'Pending')]));
    progress.update(running);
    progress.update(running);
    progress.update(
      doc('Running', [step(1, 'Running', 2, 0), step(2, 'Pending'), step(3, 'Pending'), step(4, 'Pending')]),
    );
    progress.finish(failed);
    expect(chunks.join('')).toBe(
      [
        'a1: Pending',
        'a1: Running',
        'a1: step 1/4 addIpConfigurations Running (attempt 1)',
        'a1: step 1/4 addIpConfigurations Running (attempt 2)',
        'a1: step 1/4 addIpConfigurations Failed (attempt 1, 1.0s)',
        'a1: Failed (4.0s)',
        'Failed at step 1/4 addIpConfigurations: NetworkController InvalidResourceReference (HTTP 500): The ACL reference is not valid.',
        '  step detail: {"nic":"ContainerHostVM1_Net0"}',
        '',
      ].join('\n'),
    );
    expect(chunks.join('')).not.toContain('\x1b');
  });
});

describe('TtyProgress (terminal)', () => {
  it('redraws the steps in place with a spinner on the running one, its attempt and elapsed time', () => {
    const { chunks, stream } = sink(true);
    const progress = new TtyProgress(stream, () => T0 + 2_500);
    progress.update(
      doc('Running', [step(1, 'Succeeded', 1, 0, 1), step(2, 'Running', 2, 1), step(3, 'Pending'), step(4, 'Pending')]),
    );
    progress.update(
      doc('Running', [step(1, 'Succeeded', 1, 0, 1), step(2, 'Running', 2, 1), step(3, 'Pending'), step(4, 'Pending')]),
    );
    progress.finish(failed);
    const text = chunks.join('');
    expect(text).toContain('\x1b[?25l');
    expect(text).toContain('\x1b[5A');
    expect(text).toMatch(/⠋ 2\/4 Step 2 {2}attempt 2 {2}1\.5s/);
    expect(text).toContain('✔ 1/4 Step 1  attempt 1  1.0s');
    expect(text).toContain('✖ 1/4 Step 1  attempt 1  1.0s');
    expect(text.endsWith('  step detail: {"nic":"ContainerHostVM1_Net0"}\n')).toBe(true);
    expect(text).toContain('\x1b[?25h');
  });
});

describe('documentLines and failureLines', () => {
  it('lists attach steps, then detach steps once a detach was asked for', () => {
    const lines = documentLines(
      doc('Detaching', [step(1, 'Succeeded', 1, 0, 1)], {
        detachSteps: [{ ...step(1, 'Running', 1, 2), name: 'removeContainerNetwork' }],
      }),
      T0 + 3_000,
      1,
    );
    expect(lines).toEqual([
      't1/a1: Detaching (3.0s)',
      '  ✔ 1/1 Step 1  attempt 1  1.0s',
      '  ⠙ detach 1/1 Step 1  attempt 1  1.0s',
    ]);
  });

  it('names every field detail of a refusal', () => {
    const lines = failureLines(
      doc('Failed', [step(1, 'Failed', 1, 0, 1)], {
        lastError: {
          source: 'App',
          code: 'InvalidGateway',
          message: 'bad gateway',
          details: [{ code: 'InvalidField', target: 'network.gateway', message: 'is not in 192.168.1.0/24' }],
        },
      }),
    );
    expect(lines).toEqual([
      'Failed at step 1/1 addIpConfigurations: App InvalidGateway: bad gateway',
      '  network.gateway: is not in 192.168.1.0/24 (InvalidField)',
    ]);
  });

  it.each([
    [0, '0.0s'],
    [1_250, '1.3s'],
    [59_900, '59.9s'],
    [61_000, '1m01s'],
    [-5, '0.0s'],
  ])('formatDuration(%d) = %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
