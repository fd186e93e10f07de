import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { RunCommand } from '../../../shared/arc/armResources';
import {
  checkRemoteRun,
  type RemoteRunClient,
  type RemoteRunHandle,
  type RemoteRunProgress,
  runCommandName,
  startRemoteRun,
} from '../../../shared/arc/remoteRun';
import {
  type EnsureContainerNetworkInput,
  ensureContainerNetworkScript,
  hostScripts,
  installPrivateCloudPluginScript,
} from '../../../shared/arc/scripts';
import { machine, startTestArmEmulator, type TestArmEmulator } from '../../dev/arm/harness';
import { rejectionOf } from '../../support/rejection';

let arm: TestArmEmulator;
let attempt = 0;

beforeAll(async () => {
  arm = await startTestArmEmulator({ runDurationInMs: 30 });
});
afterAll(() => arm.close());
beforeEach(() => arm.reset());

const network: EnsureContainerNetworkInput = {
  networkName: 'MyContainerOverlayNetwork',
  driver: 'l2bridge',
  subnet: '192.168.1.0/24',
  gateway: '192.168.1.1',
};

function nextName(step: string): string {
  return runCommandName({ attachmentId: 'att-1', step, attempt: ++attempt });
}

/** Checks until the run is no longer running, as the queue handler would across deliveries. */
async function untilDone(progress: RemoteRunProgress): Promise<RemoteRunProgress> {
  const client = arm.client();
  while (progress.status === 'running') {
    await new Promise((resolve) => setTimeout(resolve, 15));
    progress = await checkRemoteRun(client, progress.handle, { pollIntervalInMs: 15 });
  }
  return progress;
}

async function runNetwork(machineName: string, input: EnsureContainerNetworkInput = network) {
  const started = await startRemoteRun(
    arm.client(),
    { machine: machine(machineName), script: ensureContainerNetworkScript, input, runCommandName: nextName('network') },
    { pollIntervalInMs: 15 },
  );
  return untilDone(started);
}

const failure = async (promise: Promise<unknown>) => (await rejectionOf(promise)) as Record<string, unknown>;

describe('startRemoteRun / checkRemoteRun against the ARM emulator', () => {
  it('runs step 2 to success and deletes the run command', async () => {
    const name = nextName('enableNetworkProxy');
    const started = await startRemoteRun(
      arm.client(),
      { machine: machine('HV01'), script: hostScripts['enable-network-proxy'], input: {}, runCommandName: name },
      { pollIntervalInMs: 15 },
    );
    expect(started).toMatchObject({
      status: 'running',
      checkAfterInMs: 1000,
      handle: { machine: machine('HV01'), runCommandName: name, script: 'enable-network-proxy', scriptVersion: 2 },
    });
    expect((await arm.inspect('HV01')).runCommands).toHaveLength(1);
    const done = await untilDone(started);
    expect(done).toMatchObject({
      status: 'succeeded',
      exitCode: 0,
      result: {
        script: 'enable-network-proxy',
        version: 2,
        ok: true,
        changed: true,
        firewallRulesAdded: 2,
        serviceAction: 'restarted',
      },
    });
    expect((await arm.inspect('HV01')).runCommands).toEqual([]);
  });

  it('runs steps 3 and 4 to success', async () => {
    const plugin = await untilDone(
      await startRemoteRun(arm.client(), {
        machine: machine('ContainerHostVM1'),
        script: installPrivateCloudPluginScript,
        input: {},
        runCommandName: nextName('plugin'),
      }),
    );
    expect(plugin).toMatchObject({ status: 'succeeded', result: { changed: true, serviceAction: 'restarted' } });
    const created = await runNetwork('ContainerHostVM1');
    expect(created).toMatchObject({
      status: 'succeeded',
      result: { action: 'created', network: { name: 'MyContainerOverlayNetwork' } },
    });
    expect(await runNetwork('ContainerHostVM1')).toMatchObject({
      status: 'succeeded',
      result: { action: 'exists', changed: false },
    });
  });

  it('is safe to start twice with the same name (a redelivered start)', async () => {
    const name = nextName('network');
    const args = {
      machine: machine('ContainerHostVM1'),
      script: ensureContainerNetworkScript,
      input: network,
      runCommandName: name,
    };
    await startRemoteRun(arm.client(), args);
    const second = await startRemoteRun(arm.client(), args);
    expect(await untilDone(second)).toMatchObject({ status: 'succeeded' });
    expect(
      (await arm.inspect('ContainerHostVM1')).dockerNetworks.filter((n) => n.name === network.networkName),
    ).toHaveLength(1);
  });

  it('validates the input before calling ARM', async () => {
    const error = await failure(
      startRemoteRun(arm.client(), {
        machine: machine('ContainerHostVM1'),
        script: ensureContainerNetworkScript,
        input: { ...network, networkName: 'x; Remove-Item C:\\' },
        runCommandName: nextName('network'),
      }),
    );
    expect(error).toMatchObject({ name: 'ValidationError', retryable: false });
    expect((await arm.inspect('ContainerHostVM1')).runCommands).toEqual([]);
  });

  it.each([
    ['HV02', {}, 'MachineNotConnected', true],
    ['HV01', { status: 'Expired' }, 'MachineNotConnected', false],
    ['HV01', { agentVersion: '1.32.02700.1' }, 'ArcAgentTooOld', false],
    ['HV01', { extensionsBlockList: ['MICROSOFT.CPLAT.CORE/RunCommandHandlerWindows'] }, 'RunCommandBlocked', false],
  ])(
    'pre-flight on %s %j fails with %s (retryable %s) and creates nothing',
    async (name, switches, code, retryable) => {
      await arm.setMachine(name, switches);
      const error = await failure(
        startRemoteRun(arm.client(), {
          machine: machine(name),
          script: hostScripts['enable-network-proxy'],
          input: {},
          runCommandName: nextName('enableNetworkProxy'),
        }),
      );
      expect(error).toMatchObject({ name: 'StepError', code, retryable });
      expect((await arm.inspect(name)).runCommands).toEqual([]);
    },
  );

  it('reports a network conflict as the script says it: permanent, with its message', async () => {
    await runNetwork('ContainerHostVM1');
    const error = await failure(
      runNetwork('ContainerHostVM1', { ...network, subnet: '192.168.2.0/24', gateway: '192.168.2.1' }),
    );
    expect(error).toMatchObject({ name: 'StepError', source: 'RunCommand', code: 'NetworkConflict', retryable: false });
    expect(error.message).toMatch(
      /already exists with driver 'l2bridge', subnet '192\.168\.1\.0\/24'.*an operator needs to/,
    );
    expect((await arm.inspect('ContainerHostVM1')).runCommands).toEqual([]);
  });

  it('reports a Block rule on the proxy port as the script says it: PortBlockedByFirewall, permanent', async () => {
    await arm.setMachine('HV01', {
      firewallRules: [
        {
          displayName: 'Hoster: no 6642',
          direction: 'Inbound',
          action: 'Block',
          protocol: 'TCP',
          localPort: '6642',
          enabled: true,
          profile: 'Any',
        },
      ],
    });
    const error = await failure(
      (async () =>
        untilDone(
          await startRemoteRun(
            arm.client(),
            {
              machine: machine('HV01'),
              script: hostScripts['enable-network-proxy'],
              input: {},
              runCommandName: nextName('enableNetworkProxy'),
            },
            { pollIntervalInMs: 15 },
          ),
        ))(),
    );
    expect(error).toMatchObject({ name: 'StepError', code: 'PortBlockedByFirewall', retryable: false });
    expect(error.message).toContain("'Hoster: no 6642'");
  });

  it('reports an HNS failure as retryable with the daemon text', async () => {
    await arm.setMachine('ContainerHostVM1', { hnsFailure: 'The device is not ready. (0x15)' });
    const error = await failure(runNetwork('ContainerHostVM1'));
    expect(error).toMatchObject({ code: 'DockerCommandFailed', retryable: true });
    expect(error.message).toContain('hnsCall failed in Win32: The device is not ready. (0x15)');
  });

  it.each([
    [
      { hnsFailure: 'A network of this type can not be created because VFP is not available. (0x803b0037)' },
      'HyperVNotAvailable',
    ],
    [{ hnsFailure: 'Pool overlaps with other one on this address space' }, 'SubnetInUse'],
    [{ hnsFailure: 'Invalid network type (0x803b000b)' }, 'DriverNotAvailable'],
    [{ dockerEngineVersion: '1.12.2-cs2-ws-beta' }, 'DockerTooOld'],
  ])('maps a create that cannot pass on a retry (%j) to permanent %s', async (switches, code) => {
    await arm.setMachine('ContainerHostVM1', switches);
    const error = await failure(runNetwork('ContainerHostVM1'));
    expect(error).toMatchObject({ name: 'StepError', source: 'RunCommand', code, retryable: false });
  });

  it('keeps the warnings docker printed in the succeeded result', async () => {
    await arm.setMachine('ContainerHostVM1', { dockerCliWarnings: ['WARNING: config.json'] });
    const progress = await runNetwork('ContainerHostVM1');
    expect(progress).toMatchObject({
      status: 'succeeded',
      result: { ok: true, dockerWarnings: ['WARNING: config.json'] },
    });
  });

  it.each([
    ['TimedOut', 'RunCommandTimedOut', 'RemoteServiceError'],
    ['Canceled', 'RunCommandCanceled', 'RemoteServiceError'],
    ['Failed', 'RunCommandFailed', 'RemoteServiceError'],
    [{ exitCode: 3 }, 'ScriptFailed', 'RemoteServiceError'],
    [{ exitCode: 0 }, 'ResultLineMissing', 'StepError'],
  ])('maps run outcome %j to retryable %s and cleans up', async (runCommandOutcome, code, name) => {
    await arm.setMachine('ContainerHostVM1', { runCommandOutcome });
    const error = await failure(runNetwork('ContainerHostVM1'));
    expect(error).toMatchObject({ name, code, retryable: true, source: 'RunCommand' });
    expect((await arm.inspect('ContainerHostVM1')).runCommands).toEqual([]);
  });

  it('reads the result line from an output cut to its tail, and retries when the cut took it', async () => {
    await arm.setMachine('HV01', { outputTailBytes: 300 });
    const run = () =>
      startRemoteRun(arm.client(), {
        machine: machine('HV01'),
        script: hostScripts['enable-network-proxy'],
        input: {},
        runCommandName: nextName('enableNetworkProxy'),
      }).then(untilDone);
    expect(await run()).toMatchObject({ status: 'succeeded', result: { registryValuesSet: 12 } });
    await arm.setMachine('HV01', { outputTailBytes: 60 });
    expect(await failure(run())).toMatchObject({ code: 'ResultLineMissing', retryable: true });
  });

  it('says to start again when the run command is gone', async () => {
    const started = await startRemoteRun(arm.client(), {
      machine: machine('HV01'),
      script: hostScripts['enable-network-proxy'],
      input: {},
      runCommandName: nextName('enableNetworkProxy'),
    });
    await arm.client().deleteRunCommand(started.handle.machine, started.handle.runCommandName);
    expect(await failure(checkRemoteRun(arm.client(), started.handle))).toMatchObject({
      name: 'StepError',
      code: 'RunCommandNotFound',
      retryable: true,
    });
  });

  it('gives up on a run that makes no progress (machine went offline mid-run)', async () => {
    const started = await startRemoteRun(arm.client(), {
      machine: machine('HV01'),
      script: hostScripts['enable-network-proxy'],
      input: {},
      runCommandName: nextName('enableNetworkProxy'),
    });
    await arm.setMachine('HV01', { status: 'Disconnected' });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await checkRemoteRun(arm.client(), started.handle)).toMatchObject({ status: 'running' });
    const stale = { ...started.handle, startedAt: new Date(Date.now() - 3 * 3600_000).toISOString() };
    expect(await failure(checkRemoteRun(arm.client(), stale))).toMatchObject({
      code: 'RunCommandNoProgress',
      retryable: true,
    });
    expect((await arm.inspect('HV01')).runCommands).toEqual([]);
  });
});

describe('checkRemoteRun with a scripted client', () => {
  const handle: RemoteRunHandle = {
    machine: machine('HV01'),
    runCommandName: 'rc',
    script: 'ensure-container-network',
    scriptVersion: 1,
    startedAt: new Date().toISOString(),
  };

  function fakeClient(runCommand: RunCommand): RemoteRunClient & { deleted: number } {
    const fake = {
      deleted: 0,
      getMachine: () => Promise.reject(new Error('not used')),
      createOrReplaceRunCommand: () => Promise.reject(new Error('not used')),
      getRunCommand: () => Promise.resolve(runCommand),
      deleteRunCommand: () => {
        fake.deleted++;
        return Promise.reject(new Error('delete failed: ignored'));
      },
    };
    return fake;
  }

  const ok = 'SDNATTACH-RESULT {"script":"ensure-container-network","version":1,"ok":true,"changed":false}';

  it.each(['Unknown', 'Pending', 'Running', 'SomethingNew'])('treats %s as in flight', async (executionState) => {
    const client = fakeClient({ name: 'rc', provisioningState: 'Creating', instanceView: { executionState } });
    expect(await checkRemoteRun(client, handle, { pollIntervalInMs: 1234 })).toEqual({
      status: 'running',
      handle,
      checkAfterInMs: 1234,
    });
    expect(client.deleted).toBe(0);
  });

  it('succeeds even when the clean-up fails', async () => {
    const client = fakeClient({
      name: 'rc',
      provisioningState: 'Succeeded',
      instanceView: { executionState: 'Succeeded', exitCode: 0, output: ok },
    });
    expect(await checkRemoteRun(client, handle)).toMatchObject({ status: 'succeeded', result: { changed: false } });
    expect(client.deleted).toBe(1);
  });

  it('does not trust a result line from another script or version', async () => {
    const output = ok.replace('"version":1', '"version":2');
    const client = fakeClient({
      name: 'rc',
      provisioningState: 'Succeeded',
      instanceView: { executionState: 'Succeeded', exitCode: 0, output },
    });
    expect(await failure(checkRemoteRun(client, handle))).toMatchObject({
      code: 'ResultLineMismatch',
      retryable: true,
    });
  });

  it('does not call a non-zero exit a success, even with an ok line', async () => {
    const client = fakeClient({
      name: 'rc',
      provisioningState: 'Succeeded',
      instanceView: { executionState: 'Failed', exitCode: 1, output: ok, error: 'boom' },
    });
    const error = await failure(checkRemoteRun(client, handle));
    expect(error).toMatchObject({ name: 'RemoteServiceError', code: 'ScriptFailed', retryable: true });
    expect(error.message).toContain('boom');
  });

  it('reports a run command that failed to provision', async () => {
    const client = fakeClient({
      name: 'rc',
      provisioningState: 'Failed',
      instanceView: { executionState: 'Pending', executionMessage: 'agent said no' },
    });
    expect(await failure(checkRemoteRun(client, handle))).toMatchObject({
      code: 'RunCommandFailed',
      message: expect.stringContaining('agent said no') as unknown,
    });
  });
});
