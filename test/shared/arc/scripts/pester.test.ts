import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { parseResultLine } from '../../../../shared/arc/resultLine';
import { PESTER_MODULE, POWERSHELL_REQUIRED, REPO_ROOT, runPwsh } from '../../../support/powerShell';

/**
 * The Pester suites beside this file (*.Tests.ps1) run in one real pwsh 7.6: each host script under Pester mocks of
 * its Windows-only wrappers, plus the gates that keep the scripts Windows PowerShell 5.1 clean and their shared
 * helpers identical. Every script run those suites make is logged and checked here with the app's own result-line
 * parser: the exit code and the result line must agree.
 */
const HERE = __dirname;
const SUITES = readdirSync(HERE)
  .filter((name) => name.endsWith('.Tests.ps1'))
  .sort();
/** The gates read the scripts without running them; a suite that runs one calls Invoke-HostScript. */
const RUNS_SCRIPTS = SUITES.some((name) => readFileSync(path.join(HERE, name), 'utf8').includes('Invoke-HostScript'));
const powerShell = inject('powerShell');

interface PesterTest {
  file: string;
  name: string;
  result: string;
  error: string | null;
}
interface ScriptRun {
  script: string;
  test: string | null;
  parameters: Record<string, string>;
  exitCode: number;
  lines: string[];
  bindingError: string | null;
}

if (!powerShell.available) {
  const message = `PowerShell suite skipped: ${powerShell.reason ?? 'PowerShell is not available'}.`;
  if (POWERSHELL_REQUIRED) throw new Error(message);
  console.warn(message);
}

describe.skipIf(!powerShell.available)('host scripts under real pwsh and Pester', () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'sdnattach-pester-'));
  const resultPath = path.join(scratch, 'results.json');
  const runLogPath = path.join(scratch, 'runs.jsonl');
  let tests: PesterTest[] = [];
  let containers: { file: string; result: string; error: string | null }[] = [];
  let runs: ScriptRun[] = [];
  let pwshOutput = '';

  beforeAll(() => {
    const run = runPwsh(
      [
        '-File',
        path.join(REPO_ROOT, 'test', 'support', 'pester', 'Invoke-Suite.ps1'),
        '-Path',
        SUITES.map((name) => path.join(HERE, name)).join(path.delimiter),
        '-PesterModule',
        PESTER_MODULE,
        '-ResultPath',
        resultPath,
      ],
      { env: { SDNATTACH_SCRIPT_RUN_LOG: runLogPath } },
    );
    pwshOutput = `${run.stdout}\n${run.stderr}`;
    const parsed = JSON.parse(readFileSync(resultPath, 'utf8')) as {
      tests: PesterTest[];
      containers: typeof containers;
    };
    tests = parsed.tests;
    containers = parsed.containers;
    runs = (existsSync(runLogPath) ? readFileSync(runLogPath, 'utf8') : '')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as ScriptRun);
  }, 600_000);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.each(SUITES)('%s passes', (suite) => {
    const file = path.join(HERE, suite);
    const container = containers.find((c) => path.resolve(c.file) === file);
    expect(container?.error ?? null, `${suite} could not run:\n${pwshOutput.slice(-4000)}`).toBeNull();
    const mine = tests.filter((t) => path.resolve(t.file) === file);
    expect(mine.length).toBeGreaterThan(0);
    const failed = mine.filter((t) => t.result !== 'Passed').map((t) => `${t.name} [${t.result}]: ${t.error}`);
    expect(failed).toEqual([]);
  });

  it('every script run printed a result line the app parses, and exited 0 exactly when it says ok', () => {
    const scriptRuns = runs.filter((run) => run.bindingError === null);
    if (RUNS_SCRIPTS) expect(scriptRuns.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const run of scriptRuns) {
      const result = parseResultLine(run.lines.join('\n'));
      const where = `${run.script} in "${run.test ?? '?'}"`;
      if (result === undefined) problems.push(`${where}: no result line the app parses`);
      // invoke-in-vm passes the script it ran in the VM through: that script's line is its own.
      else if (result.script !== run.script && run.script !== 'invoke-in-vm')
        problems.push(`${where}: result line names ${result.script}`);
      else if (result.ok !== (run.exitCode === 0))
        problems.push(`${where}: ok ${result.ok} with exit code ${run.exitCode}`);
      else if (!result.ok && result.error === undefined) problems.push(`${where}: failed without an error`);
      else if (run.lines.at(-1)?.startsWith('SDNATTACH-RESULT ') !== true)
        problems.push(`${where}: result line not last`);
    }
    expect(problems).toEqual([]);
  });

  it('a refused parameter never reached the script', () => {
    for (const run of runs.filter((r) => r.bindingError !== null)) {
      expect(run.lines).toEqual([]);
      expect(run.exitCode).not.toBe(0);
    }
  });
});
