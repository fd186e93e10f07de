import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { expandBraces, resolveEntryPointGlob } from '../../../dev/runner/entryPointGlob';
import { hostSettingsFrom, withEnvironmentOverrides } from '../../../dev/runner/hostConfig';
import { applyLocalSettings } from '../../../dev/runner/localSettings';
import { poisonQueueNameFor, resolveConnection, resolveQueueName } from '../../../dev/runner/queueStorage';
import { parseDurationInMs } from '../../../dev/runner/timeSpan';

const scratch = mkdtempSync(path.join(tmpdir(), 'runner-settings-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function touch(relative: string, content = ''): void {
  const file = path.join(scratch, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}

describe('parseDurationInMs', () => {
  it.each([
    ['00:00:02', 2_000],
    ['00:01:00', 60_000],
    ['01:00:00', 3_600_000],
    ['00:00:00.250', 250],
    ['00:00:01.5', 1_500],
    ['1.00:00:00', 86_400_000],
    ['00:05', 300_000],
    ['2', 2 * 86_400_000],
    [1500, 1500],
  ])('%j → %i ms', (input, expected) => {
    expect(parseDurationInMs(input, 'test')).toBe(expected);
  });

  it.each(['', 'soon', '00:60:00', '25:00:00', '-00:00:01', null])('rejects %j', (input) => {
    expect(() => parseDurationInMs(input, 'setting')).toThrow(/setting/);
  });
});

describe('hostSettingsFrom', () => {
  it('fills the extension defaults, scaling newBatchThreshold with cores', () => {
    expect(hostSettingsFrom({}, 4)).toEqual({
      queues: {
        batchSize: 16,
        newBatchThreshold: 32,
        maxPollingIntervalInMs: 2_000,
        visibilityTimeoutInMs: 0,
        maxDequeueCount: 5,
        messageEncoding: 'base64',
      },
      concurrency: { dynamicConcurrencyEnabled: false, maximumFunctionConcurrency: 500 },
      httpRoutePrefix: 'api',
    });
  });

  it('reads the project host.json shape, ignoring key case', () => {
    const settings = hostSettingsFrom(
      {
        Concurrency: { DynamicConcurrencyEnabled: true, maximumFunctionConcurrency: 64 },
        extensions: {
          http: { routePrefix: '/v1/' },
          Queues: {
            BatchSize: 4,
            newBatchThreshold: 0,
            maxPollingInterval: '00:00:02',
            visibilityTimeout: '00:00:05',
            maxDequeueCount: 3,
            messageEncoding: 'None',
          },
        },
      },
      2,
    );
    expect(settings).toEqual({
      queues: {
        batchSize: 4,
        newBatchThreshold: 0,
        maxPollingIntervalInMs: 2_000,
        visibilityTimeoutInMs: 5_000,
        maxDequeueCount: 3,
        messageEncoding: 'none',
      },
      concurrency: { dynamicConcurrencyEnabled: true, maximumFunctionConcurrency: 64 },
      httpRoutePrefix: 'v1',
    });
  });

  it('accepts milliseconds for maxPollingInterval and an empty route prefix', () => {
    const settings = hostSettingsFrom({
      extensions: { http: { routePrefix: '' }, queues: { maxPollingInterval: 500 } },
    });
    expect(settings.queues.maxPollingIntervalInMs).toBe(500);
    expect(settings.httpRoutePrefix).toBe('');
  });

  it.each([
    [{ batchSize: 33 }, /batchSize/],
    [{ batchSize: 0 }, /batchSize/],
    [{ maxDequeueCount: 0 }, /maxDequeueCount/],
    [{ maxPollingInterval: '00:00:00.050' }, /maxPollingInterval/],
    [{ messageEncoding: 'utf8' }, /messageEncoding/],
  ])('rejects %j', (queues, message) => {
    expect(() => hostSettingsFrom({ extensions: { queues } })).toThrow(message);
  });

  it.each([
    [{ dynamicConcurrencyEnabled: 'yes' }, /concurrency\.dynamicConcurrencyEnabled: "yes" must be true or false/],
    [{ maximumFunctionConcurrency: 0 }, /concurrency\.maximumFunctionConcurrency: 0 must be an integer/],
  ])('rejects concurrency %j, naming the setting', (concurrency, message) => {
    expect(() => hostSettingsFrom({ concurrency })).toThrow(message);
  });

  it('takes AzureFunctionsJobHost__ app settings over host.json, whatever the case of their keys', () => {
    const hostJson = { version: '2.0', extensions: { queues: { maxDequeueCount: 5, batchSize: 8 } } };
    const merged = withEnvironmentOverrides(hostJson, {
      AzureFunctionsJobHost__extensions__queues__maxDequeueCount: '10',
      azurefunctionsjobhost__Extensions__Http__routePrefix: 'v1',
      AzureFunctionsJobHost__concurrency__dynamicConcurrencyEnabled: 'False',
      OTHER_SETTING: 'ignored',
    });
    const settings = hostSettingsFrom(merged, 2);
    expect(settings.queues).toMatchObject({ maxDequeueCount: 10, batchSize: 8 });
    expect(settings.concurrency.dynamicConcurrencyEnabled).toBe(false);
    expect(settings.httpRoutePrefix).toBe('v1');
    // host.json as read is left alone.
    expect(hostJson.extensions.queues.maxDequeueCount).toBe(5);
    expect(() =>
      hostSettingsFrom(
        withEnvironmentOverrides({}, { AzureFunctionsJobHost__extensions__queues__maxDequeueCount: 'many' }),
      ),
    ).toThrow(/maxDequeueCount/);
  });
});

describe('resolveEntryPointGlob', () => {
  touch('dist/functions/a.js');
  touch('dist/functions/b.js');
  touch('dist/functions/b.js.map');
  touch('dist/functions/nested/c.js');
  touch('dist/index.js');

  it('matches * within one folder, in sorted order', () => {
    expect(resolveEntryPointGlob(scratch, 'dist/functions/*.js')).toEqual([
      path.join(scratch, 'dist/functions/a.js'),
      path.join(scratch, 'dist/functions/b.js'),
    ]);
  });

  it('expands braces and ** and accepts a plain file', () => {
    expect(resolveEntryPointGlob(scratch, 'dist/{index.js,functions/**/*.js}')).toEqual(
      ['dist/functions/a.js', 'dist/functions/b.js', 'dist/functions/nested/c.js', 'dist/index.js'].map((f) =>
        path.join(scratch, f),
      ),
    );
    expect(resolveEntryPointGlob(scratch, './dist/index.js')).toEqual([path.join(scratch, 'dist/index.js')]);
  });

  it('returns nothing when nothing matches', () => {
    expect(resolveEntryPointGlob(scratch, 'build/*.js')).toEqual([]);
  });

  it('expands nested braces', () => {
    expect(expandBraces('a/{b,c/{d,e}}.js')).toEqual(['a/b.js', 'a/c/d.js', 'a/c/e.js']);
  });
});

describe('queue settings', () => {
  it('reads a connection setting, also with the AzureWebJobs prefix', () => {
    const fromString = (value: string) => ({ mode: 'connectionString', connectionString: value });
    expect(resolveConnection('AzureWebJobsStorage', { AzureWebJobsStorage: 'UseDevelopmentStorage=true' })).toEqual(
      fromString('UseDevelopmentStorage=true'),
    );
    expect(resolveConnection('Storage', { AzureWebJobsStorage: 'x' })).toEqual(fromString('x'));
    expect(resolveConnection(undefined, { AzureWebJobsStorage: 'y' })).toEqual(fromString('y'));
    expect(() => resolveConnection('Missing', {})).toThrow(/"Missing" is not set/);
  });

  it('reads identity-based connections as the host does, and names what is missing or mixed', () => {
    expect(
      resolveConnection('Storage', {
        AzureWebJobsStorage__accountName: 'acct1',
        AzureWebJobsStorage__credential: 'managedidentity',
        AzureWebJobsStorage__clientId: '00000000-0000-0000-0000-0000000000a1',
      }),
    ).toEqual({
      mode: 'identity',
      serviceUrls: { queue: 'https://acct1.queue.core.windows.net' },
      managedIdentity: { kind: 'clientId', clientId: '00000000-0000-0000-0000-0000000000a1' },
    });
    expect(
      resolveConnection('Ident', {
        Ident__queueServiceUri: 'https://127.0.0.1:10001/devstoreaccount1/',
        Ident__credential: 'ManagedIdentity',
      }),
    ).toEqual({
      mode: 'identity',
      serviceUrls: { queue: 'https://127.0.0.1:10001/devstoreaccount1' },
      managedIdentity: { kind: 'systemAssigned' },
    });
    expect(() => resolveConnection('Ident', { Ident__queueServiceUri: 'https://x' })).toThrow(
      /Ident__credential: is required/,
    );
    expect(() => resolveConnection('Ident', { Ident__credential: 'managedidentity' })).toThrow(
      /Ident__queueServiceUri: is required unless Ident__accountName is set/,
    );
    expect(() =>
      resolveConnection('Ident', { Ident: 'UseDevelopmentStorage=true', Ident__accountName: 'acct1' }),
    ).toThrow(/not both \(also set: Ident__accountName\)/);
  });

  it('resolves %setting% in queue names and validates them', () => {
    expect(resolveQueueName('%StepQueue%-x', { StepQueue: 'step' })).toBe('step-x');
    expect(() => resolveQueueName('Upper', {})).toThrow(/not a valid queue name/);
    expect(() => resolveQueueName('a--b', {})).toThrow(/not a valid queue name/);
    expect(() => resolveQueueName('%Nope%', {})).toThrow(/"Nope"/);
  });

  it('gives no poison queue to poison queues or names over 56 characters', () => {
    expect(poisonQueueNameFor('steps')).toBe('steps-poison');
    expect(poisonQueueNameFor('steps-poison')).toBeUndefined();
    expect(poisonQueueNameFor('a'.repeat(56))).toBe(`${'a'.repeat(56)}-poison`);
    expect(poisonQueueNameFor('a'.repeat(57))).toBeUndefined();
  });
});

describe('applyLocalSettings', () => {
  it('copies Values into the environment without overriding what is set', () => {
    touch(
      'app/local.settings.json',
      JSON.stringify({
        IsEncrypted: false,
        Values: { FROM_FILE: 'file', ALREADY_SET: 'file', A_NUMBER: 5 },
        Host: { LocalHttpPort: 7099 },
      }),
    );
    const env: NodeJS.ProcessEnv = { ALREADY_SET: 'shell' };
    const result = applyLocalSettings(path.join(scratch, 'app'), env);
    expect(env).toEqual({ FROM_FILE: 'file', ALREADY_SET: 'shell', A_NUMBER: '5' });
    expect(result).toEqual({ applied: ['FROM_FILE', 'A_NUMBER'], localHttpPort: 7099 });
  });

  it('does nothing without the file', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(applyLocalSettings(path.join(scratch, 'no-app'), env)).toEqual({ applied: [], localHttpPort: undefined });
    expect(env).toEqual({});
  });
});
