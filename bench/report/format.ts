import type { Summary } from '../analysis/stats';

/** Number formatting and table building shared by the report's sections. */
export const f = (value: number | undefined, digits = 0): string =>
  value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
export const ms = (s: Summary | undefined): string => (s ? `${f(s.median)} / ${f(s.p95)}` : 'n/a');
export const kb = (bytes: number | undefined): string =>
  bytes !== undefined && Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(1)} KB` : 'n/a';
export const verdict = (pass: boolean | null): string =>
  pass === null ? 'not measured' : pass ? '**PASS**' : '**FAIL**';

export function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}
