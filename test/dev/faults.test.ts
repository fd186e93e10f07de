import { describe, expect, it } from 'vitest';

import { faultRuleSchema as armFaultRuleSchema } from '../../dev/arm/faults';
import { type BaseFaultRule, FaultRegistry } from '../../dev/faults';
import { faultRuleSchema as ncFaultRuleSchema } from '../../dev/networkController/faults';

describe('FaultRegistry', () => {
  it.each([
    ['method and path match', { method: 'put', path: '^/networkInterfaces/' }, 'PUT', '/networkInterfaces/a', true],
    ['another method', { method: 'GET', path: '^/networkInterfaces/' }, 'PUT', '/networkInterfaces/a', false],
    ['path matched whatever its case', { path: 'NETWORKINTERFACES' }, 'GET', '/networkInterfaces/a', true],
    ['another path', { path: '^/operations/' }, 'GET', '/networkInterfaces/a', false],
  ] as const)('%s', (_, rule, method, path, hit) => {
    const registry = new FaultRegistry<BaseFaultRule>();
    registry.add({ status: 503, ...rule });
    expect(registry.take(method, path) !== undefined).toBe(hit);
  });

  it('uses up `times`, then lets requests through; the first rule that applies wins', () => {
    const registry = new FaultRegistry<BaseFaultRule>();
    registry.add({ path: '.', status: 500, times: 2 });
    registry.add({ path: '.', status: 429 });
    const statuses = Array.from({ length: 4 }, () => registry.take('GET', '/x')?.status);
    expect(statuses).toEqual([500, 500, 429, 429]);
    expect(registry.list().map((f) => [f.hits, f.remaining])).toEqual([
      [2, 0],
      [2, undefined],
    ]);
  });

  it('hits a matching request with the rule’s probability, and a missed draw uses up nothing', () => {
    const draws = [0.1, 0.9, 0.29, 0.3];
    const registry = new FaultRegistry<BaseFaultRule>(() => draws.shift() ?? 1);
    registry.add({ path: '.', status: 503, probability: 0.3, times: 5 });
    const hits = Array.from({ length: 4 }, () => registry.take('GET', '/x') !== undefined);
    expect(hits).toEqual([true, false, true, false]);
    expect(registry.list()[0]).toMatchObject({ hits: 2, remaining: 3 });
  });
});

describe('fault rule schemas', () => {
  it.each([
    ['ARM', armFaultRuleSchema],
    ['Network Controller', ncFaultRuleSchema],
  ] as const)('%s: accepts the common rule with a probability, refuses a bad regex or probability', (_, schema) => {
    expect(schema.safeParse({ path: '^/machines/', status: 503, probability: 0.2 }).success).toBe(true);
    expect(schema.safeParse({ path: '(', status: 503 }).success).toBe(false);
    expect(schema.safeParse({ path: '.', probability: 1.5 }).success).toBe(false);
  });

  it('only the controller’s rules can fail an operation', () => {
    const rule = { path: '.', operation: { status: 'Failed', error: { code: 'RetryableError', message: 'x' } } };
    expect(ncFaultRuleSchema.parse(rule).operation?.status).toBe('Failed');
    expect(armFaultRuleSchema.safeParse(rule).success).toBe(false);
  });
});
