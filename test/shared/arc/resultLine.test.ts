import { describe, expect, it } from 'vitest';

import { parseResultLine } from '../../../shared/arc/resultLine';

const line = (fields: Record<string, unknown>) =>
  `SDNATTACH-RESULT ${JSON.stringify({ script: 'ensure-container-network', version: 1, ok: true, changed: false, ...fields })}`;

describe('parseResultLine', () => {
  it('parses the result line and keeps the extra fields', () => {
    const output = `created docker network 'x'\r\n${line({ changed: true, action: 'created' })}\r\n`;
    expect(parseResultLine(output)).toEqual({
      script: 'ensure-container-network',
      version: 1,
      ok: true,
      changed: true,
      action: 'created',
    });
  });

  it('uses the last sentinel line', () => {
    expect(parseResultLine(`${line({ action: 'first' })}\n${line({ action: 'last' })}\n`)?.action).toBe('last');
  });

  it('reads an error report', () => {
    const result = parseResultLine(
      line({ ok: false, error: { code: 'NetworkConflict', message: 'm', permanent: true } }),
    );
    expect(result?.error).toEqual({ code: 'NetworkConflict', message: 'm', permanent: true });
  });

  it('survives a tail cut through the first lines', () => {
    const full = `${'set HKLM\\SYSTEM\\x (DWord)\n'.repeat(50)}${line({ action: 'exists' })}\n`;
    const tail = full.slice(full.length - 200);
    expect(tail.startsWith('SDNATTACH')).toBe(false);
    expect(parseResultLine(tail)?.action).toBe('exists');
  });

  it('finds nothing when the cut went through the result line itself', () => {
    const full = line({ action: 'exists' });
    expect(parseResultLine(full.slice(10))).toBeUndefined();
    expect(parseResultLine(full.slice(-40))).toBeUndefined();
  });

  it('does not fall back to an older line when the last one is broken', () => {
    expect(parseResultLine(`${line({})}\nSDNATTACH-RESULT {"script":\n`)).toBeUndefined();
    expect(parseResultLine(`${line({})}\nSDNATTACH-RESULT {"script":"x"}\n`)).toBeUndefined();
  });

  it.each([undefined, '', 'no sentinel here', 'SDNATTACH-RESULT', 'XSDNATTACH-RESULT {}'])(
    'returns undefined for %j',
    (output) => {
      expect(parseResultLine(output)).toBeUndefined();
    },
  );
});
