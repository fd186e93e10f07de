import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { DockerApiError, SimulatedDocker } from '../../../dev/arm/SimulatedDocker';
import { startTestArmEmulator, type TestArmEmulator } from './harness';

let arm: TestArmEmulator;

beforeAll(async () => {
  arm = await startTestArmEmulator({ runDurationInMs: 15 });
});
afterAll(() => arm.close());
beforeEach(() => arm.reset());

const CONTAINERS = '/_emulator/machines/ContainerHostVM1/containers';

describe('admin route: containers on a machine', () => {
  it('PUT connects a container (201, then 200 replacing its networks), GET shows it, DELETE removes it', async () => {
    const created = await arm.raw('PUT', `${CONTAINERS}/web-1`, { networks: ['nat'] });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
      name: 'web-1',
      networks: ['nat'],
    });
    const { id } = created.body as { id: string };

    const nat = (await arm.inspect('ContainerHostVM1')).dockerNetworks[0]!;
    expect(nat.containers).toEqual({
      [id]: { name: 'web-1', endpointId: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown },
    });
    // By id prefix, as the daemon resolves it.
    const replaced = await arm.raw('PUT', `${CONTAINERS}/web-1`, { networks: [] });
    expect(replaced).toMatchObject({ status: 200, body: { id, name: 'web-1', networks: [] } });
    expect((await arm.raw('PUT', `${CONTAINERS}/web-1`, { networks: [nat.id.slice(0, 12)] })).body).toMatchObject({
      networks: ['nat'],
    });

    expect(await arm.raw('GET', `${CONTAINERS}/web-1`)).toMatchObject({ status: 200, body: { id, networks: ['nat'] } });
    expect((await arm.inspect('ContainerHostVM1')).dockerContainers).toEqual([
      { id, name: 'web-1', networks: ['nat'] },
    ]);
    expect((await arm.raw('DELETE', `${CONTAINERS}/web-1`)).status).toBe(204);
    expect((await arm.raw('DELETE', `${CONTAINERS}/web-1`)).status).toBe(404);
    expect((await arm.raw('GET', `${CONTAINERS}/web-1`)).status).toBe(404);
    expect((await arm.inspect('ContainerHostVM1')).dockerNetworks[0]!.containers).toEqual({});
  });

  it.each([
    ['a', 'InvalidContainerName'],
    ['-web', 'InvalidContainerName'],
    ['web%3Bcalc', 'InvalidContainerName'],
    ['web%20x', 'InvalidContainerName'],
    ['web%2F..%2Fx', 'InvalidContainerName'],
    ['w%0A', 'InvalidContainerName'],
    ['x'.repeat(129), 'InvalidContainerName'],
    ['%E0%A4%A', 'InvalidRequestUri'],
  ])('refuses the container name %j with 400 %s', async (name, code) => {
    const response = await arm.raw('PUT', `${CONTAINERS}/${name}`, { networks: ['nat'] });
    expect(response).toMatchObject({ status: 400, body: { error: { code } } });
    expect((await arm.inspect('ContainerHostVM1')).dockerContainers).toEqual([]);
  });

  it.each([
    [undefined, 'InvalidRequestContent'],
    ['{"networks":', 'InvalidRequestContent'],
    [{}, 'InvalidRequestContent'],
    [{ networks: 'nat' }, 'InvalidRequestContent'],
    [{ networks: ['nat'], restart: true }, 'InvalidRequestContent'],
    [{ networks: ['nat;calc'] }, 'InvalidRequestContent'],
    [{ networks: ['../nat'] }, 'InvalidRequestContent'],
    [{ networks: [''] }, 'InvalidRequestContent'],
    [{ networks: [1] }, 'InvalidRequestContent'],
    [{ networks: Array.from({ length: 17 }, () => 'nat') }, 'InvalidRequestContent'],
    [{ networks: ['MyContainerOverlayNetwork'] }, 'NoSuchNetwork'],
  ])('refuses the body %j with 400 %s', async (body, code) => {
    const response = await arm.raw('PUT', `${CONTAINERS}/web-1`, body);
    expect(response).toMatchObject({ status: 400, body: { error: { code } } });
    expect((await arm.inspect('ContainerHostVM1')).dockerContainers).toEqual([]);
  });

  it('answers 400 on a machine without Docker, 404 on an unknown machine, 405 on other methods', async () => {
    expect(await arm.raw('PUT', '/_emulator/machines/HV01/containers/web-1', { networks: [] })).toMatchObject({
      status: 400,
      body: { error: { code: 'NoDocker' } },
    });
    expect((await arm.raw('PUT', '/_emulator/machines/HV77/containers/web-1', { networks: [] })).status).toBe(404);
    expect((await arm.raw('POST', `${CONTAINERS}/web-1`, { networks: [] })).status).toBe(405);
    expect((await arm.raw('GET', CONTAINERS)).status).toBe(404);
    expect((await arm.raw('GET', `${CONTAINERS}/web-1/extra`)).status).toBe(404);
  });

  it('is cleared by a reset', async () => {
    await arm.raw('PUT', `${CONTAINERS}/web-1`, { networks: ['nat'] });
    await arm.reset();
    expect((await arm.inspect('ContainerHostVM1')).dockerContainers).toEqual([]);
  });
});

describe('SimulatedDocker: connected containers', () => {
  const request = {
    name: 'MyContainerOverlayNetwork',
    driver: 'l2bridge',
    subnet: '192.168.1.0/24',
    gateway: '192.168.1.1',
  };

  function failure(action: () => unknown): DockerApiError {
    try {
      action();
    } catch (error) {
      return error as DockerApiError;
    }
    throw new Error('expected a Docker error');
  }

  it("refuses to remove a network with active endpoints, with the daemon's 403 and message", () => {
    const docker = new SimulatedDocker();
    const network = docker.create(request);
    docker.connectContainer('web-1', [network.name]);
    expect(failure(() => docker.remove(network.name))).toMatchObject({
      statusCode: 403,
      message: `error while removing network: network ${network.name} id ${network.id} has active endpoints`,
    });
    docker.connectContainer('web-1', []);
    docker.remove(network.id);
    expect(docker.list().map((candidate) => candidate.name)).toEqual(['nat']);
  });

  it('keeps an endpoint id while the container stays on the network, and refuses unknown networks and bad names', () => {
    const docker = new SimulatedDocker();
    docker.create(request);
    docker.connectContainer('web-1', [request.name]);
    const endpoint = Object.values(docker.inspect(request.name).containers)[0]?.endpointId;
    docker.connectContainer('web-1', [request.name, 'nat']);
    expect(Object.values(docker.inspect(request.name).containers)[0]?.endpointId).toBe(endpoint);
    expect(failure(() => docker.connectContainer('web-2', ['missing']))).toMatchObject({ statusCode: 404 });
    expect(failure(() => docker.connectContainer('x', []))).toMatchObject({ statusCode: 400 });
    expect(docker.containers().map((container) => container.name)).toEqual(['web-1']);
  });

  it.each(['nat', 'none', 'default'])('refuses to create the predefined network %j', (name) => {
    expect(failure(() => new SimulatedDocker().create({ ...request, name }))).toMatchObject({ statusCode: 403 });
  });
});
