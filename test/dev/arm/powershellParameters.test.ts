import { describe, expect, it } from 'vitest';

import { bindParameters, parseParamBlock } from '../../../dev/arm/scriptEffects/powershellParameters';
import { hostScripts } from '../../../shared/arc/scripts';

const script = [
  '# test',
  '[CmdletBinding()]',
  'param(',
  '    [Parameter(Mandatory = $true)]',
  "    [ValidatePattern('^[a-z]+$', Options = 'None')]",
  '    [string] $Name,',
  '',
  "    [ValidatePattern('^(it''s|ok)$')]",
  '    [string] $Loose',
  ')',
  'Write-Output $Name',
].join('\r\n');

describe('PowerShell parameter binding in the emulator', () => {
  it('reads the product scripts', () => {
    expect(parseParamBlock(hostScripts['enable-network-proxy'].text)).toEqual([]);
    expect(parseParamBlock(hostScripts['ensure-container-network'].text).map((p) => [p.name, p.mandatory])).toEqual([
      ['NetworkName', true],
      ['Driver', true],
      ['Subnet', true],
      ['Gateway', true],
    ]);
    expect(parseParamBlock(hostScripts['install-private-cloud-plugin'].text).map((p) => [p.name, p.mandatory])).toEqual(
      [
        ['AgentIPAddress', false],
        ['AgentPort', false],
        ['AgentPath', false],
        ['AgentFormat', false],
      ],
    );
  });

  it('ignores case only where ValidatePattern does by default', () => {
    const declared = parseParamBlock(script);
    expect(declared.map((p) => [p.name, p.patternSource, p.pattern?.flags])).toEqual([
      ['Name', '^[a-z]+$', ''],
      ['Loose', "^(it's|ok)$", 'i'],
    ]);
    expect(
      bindParameters(declared, [
        { name: 'name', value: 'abc' },
        { name: 'LOOSE', value: 'OK' },
      ]),
    ).toEqual({
      ok: true,
      values: { Name: 'abc', Loose: 'OK' },
    });
  });

  it.each([
    [
      [{ name: 'Name', value: 'ABC' }],
      /^Cannot validate argument on parameter 'Name'\. The argument "ABC" does not match the "\^\[a-z\]\+\$" pattern/,
    ],
    [[{ name: 'Other', value: 'x' }], /^A parameter cannot be found that matches parameter name 'Other'\.$/],
    [
      [{ name: 'Loose', value: 'ok' }],
      /^Cannot process command because of one or more missing mandatory parameters: Name\.$/,
    ],
    [
      [
        { name: 'Name', value: 'a' },
        { name: 'name', value: 'b' },
      ],
      /specified more than once/,
    ],
  ])('refuses %j as PowerShell would', (supplied, message) => {
    const result = bindParameters(parseParamBlock(script), supplied);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.message).toMatch(message);
  });
});
