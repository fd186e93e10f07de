import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

import { parseOptions, sizesFor } from './cli';
import { waitForQuietMachine } from './infra/cpu';
import { benchAppSettings, type SharedServices, startSharedServices } from './infra/stack';
import { APP_ROOT, RESULTS_DIR } from './paths';
import { renderChart } from './report/chart';
import { renderMarkdown } from './report/markdown';
import { methodNotes } from './report/notes';
import { readmeTable } from './report/scaleSections';
import { judgeTargets } from './report/targets';
import type { BenchResults } from './results';
import { runSuite } from './scenarios/suite';

function git(args: string[]): string {
  try {
    // Not trimmed: porcelain lines start with a status column that may be a space.
    return execFileSync('git', args, { cwd: APP_ROOT, encoding: 'utf8' });
  } catch {
    return '';
  }
}

/** `npm run bench [-- --quick] [-- --time-factor n]`: results in bench-results/ and the Markdown on stdout. */
async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const sizes = sizesFor(options);
  const started = Date.now();
  // Anything else busy on this machine (another session's tests, a build) would skew every number; record it.
  const loadBefore = loadavg();
  let shared: SharedServices | undefined;
  // Ctrl-C: exit, and the exit hooks kill Azurite and the runner by pid.
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  try {
    // Someone else's build or tests on this machine would skew every number: give them a moment to finish.
    const quietBeforeStart = await waitForQuietMachine(options.quick ? 20_000 : 90_000);
    shared = await startSharedServices();
    const parts = await runSuite(shared, sizes, options.timeFactor);
    const withoutTargets: Omit<BenchResults, 'targets'> = {
      meta: {
        startedAt: new Date(started).toISOString(),
        finishedAt: new Date().toISOString(),
        durationSeconds: Math.round((Date.now() - started) / 1000),
        quick: options.quick,
        timeFactor: options.timeFactor,
        gitHead: git(['rev-parse', 'HEAD']).trim(),
        uncommittedProductFiles: git(['status', '--porcelain', '--', '.', ':!bench'])
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => line.slice(3)),
        quietBeforeStart,
        node: process.version,
        cpus: cpus().length,
        loadAverage: {
          before: loadBefore.map((l) => Math.round(l * 100) / 100),
          after: loadavg().map((l) => Math.round(l * 100) / 100),
        },
        appSettings: benchAppSettings(),
        containersPerAttachment: sizes.containersPerAttachment,
        notes: methodNotes(sizes, options.timeFactor),
      },
      ...parts,
    };
    const results: BenchResults = { ...withoutTargets, targets: judgeTargets(withoutTargets, sizes) };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const markdown = renderMarkdown(results, sizes.floorAt);
    writeFileSync(join(RESULTS_DIR, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(RESULTS_DIR, 'results.md'), markdown);
    writeFileSync(join(RESULTS_DIR, 'chart.svg'), renderChart(results));
    writeFileSync(join(RESULTS_DIR, 'readme-table.md'), readmeTable(results));
    process.stdout.write(`${markdown}\nWritten: bench-results/results.json, results.md, chart.svg, readme-table.md\n`);
    // Targets are reported, never asserted; a part that could not run at all is a failed bench run.
    if (results.errors.length > 0) process.exitCode = 1;
  } finally {
    await shared?.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
