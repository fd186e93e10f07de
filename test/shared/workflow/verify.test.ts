import { describe, expect, it } from 'vitest';

import { checkNetworkProxy } from '../../../shared/workflow/verify';

const enabled = {
  ok: true,
  changed: false,
  networkProxyEnabled: true,
  registryValues: [],
  firewallRules: [{ direction: 'Inbound', present: true, count: 1, toReplace: 0 }],
  firewallBlockRules: [],
  service: { name: 'nchostagent', installed: true, status: 'Running' },
};

describe('step 2 verification from inspect-hyperv-host', () => {
  it('is Intact when the proxy is enabled and nothing blocks its port', () => {
    expect(checkNetworkProxy(enabled)).toEqual({
      state: 'Intact',
      detail: {
        networkProxyEnabled: true,
        registryValues: [],
        firewallRules: enabled.firewallRules,
        firewallBlockRules: [],
        service: enabled.service,
      },
    });
  });

  it('is Missing when something enable-network-proxy sets is gone, so a repair re-runs it', () => {
    expect(checkNetworkProxy({ ...enabled, networkProxyEnabled: false }).state).toBe('Missing');
  });

  it('is never Intact beside an inbound Block rule on 6642, and names it instead of asking for a repair', () => {
    const blocked = {
      ...enabled,
      firewallBlockRules: [{ displayName: 'Hoster: no 6000-6999', protocol: 'TCP', localPort: '6000-6999' }],
    };
    const check = checkNetworkProxy(blocked);
    expect(check.state).toBe('Unknown');
    expect(check.detail).toMatchObject({
      firewallBlockRules: blocked.firewallBlockRules,
      problems: ["inbound TCP 6642 blocked by firewall rule 'Hoster: no 6000-6999'"],
    });
    // Even when a stale result still says enabled.
    expect(checkNetworkProxy({ ...blocked, networkProxyEnabled: true }).state).toBe('Unknown');
  });

  it('does not take a malformed result for a verdict', () => {
    expect(checkNetworkProxy({ networkProxyEnabled: 'yes' }).state).toBe('Unknown');
    expect(checkNetworkProxy({ networkProxyEnabled: true, firewallBlockRules: [{}] }).state).toBe('Unknown');
  });
});
