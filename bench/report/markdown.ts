import type { BenchResults } from '../results';
import { ms, table, verdict } from './format';
import { cpuSection, overheadBySizeSection, overheadSection } from './overheadSections';
import { controllerSizeSection, floorSection, scaleSection } from './scaleSections';
import { runsSection, storageSection } from './storageSections';
import { ncSection } from './trafficSections';

/** Cores other processes kept busy, per measured run; more than a little means the machine was shared. */
function disturbance(results: BenchResults): string[] {
  const others = [
    ...results.zeroLatency.map((r) => r.cpu.otherCores),
    ...(results.realistic?.runs ?? []).map((r) => r.cpu.otherCores),
    results.storage?.rates.otherCores,
  ].filter((v): v is number => v !== undefined);
  if (others.length === 0) return [];
  const worst = Math.max(...others);
  const waitedMs = results.meta.quietBeforeStart.waitedMs + results.quietWaits.reduce((sum, w) => sum + w.waitedMs, 0);
  const line = `Other processes on this machine used up to ${worst.toFixed(2)} of ${results.meta.cpus} cores during the measured parts (the bench waited ${Math.round(waitedMs / 1000)} s in all for a quiet machine before starting and between parts; see the CPU table).`;
  return worst > 0.3
    ? [
        `> **Warning: the machine was shared.** ${line} Throughput, latency and the storage limit are lower than on a quiet machine.`,
        '',
      ]
    : [line, ''];
}

export function renderMarkdown(results: BenchResults, overheadAt: number): string {
  const { meta } = results;
  const shared = results.sharedNic;
  const lines = [
    '# Benchmark: SDN container attach',
    '',
    `${meta.startedAt} · ${meta.quick ? '**quick (smoke) run**' : 'full run'} · time factor ${meta.timeFactor} · ${meta.durationSeconds} s · Node ${meta.node} · ${meta.cpus} CPUs (load average before ${meta.loadAverage.before.join(' ')}) · commit ${meta.gitHead.slice(0, 10)}${meta.uncommittedProductFiles.length ? ` + uncommitted changes in ${meta.uncommittedProductFiles.join(', ')}` : ''}`,
    '',
    ...disturbance(results),
    '## Targets',
    '',
    ...table(
      ['Target', 'Measured', 'Result'],
      results.targets.map((t) => [`${t.target} (\`${t.id}\`)`, t.detail, verdict(t.pass)]),
    ),
    '',
    '## Storage limit (this machine, this run)',
    '',
    ...storageSection(results),
    '',
    '## Throughput and end-to-end latency',
    '',
    ...runsSection(results),
    '',
    results.realistic
      ? `Realistic latencies ×${meta.timeFactor}: controller GET ${results.realistic.latencies.ncGetLatencyInMs} ms, NIC provisioning ${results.realistic.latencies.provisioningDelayInMs} ms, run command ${results.realistic.latencies.runDurationInMs} ms. Critical path ${results.realistic.criticalPathMs} ms = ${Object.entries(
          results.realistic.criticalPathParts,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(' + ')}.`
      : '',
    '',
    `## The floor (zero latency, ${overheadAt} attachments and as many bare requests, one burst)`,
    '',
    ...floorSection(results),
    '',
    `## Per-step overhead (zero latency, ${overheadAt} attachments)`,
    '',
    ...overheadSection(results, overheadAt),
    '',
    "Overhead at every size (the 1-attachment runs include the runner's cold start):",
    '',
    ...overheadBySizeSection(results),
    '',
    '## CPU per run (2-core machine; 100% = one core busy for the whole run)',
    '',
    ...cpuSection(results),
    '',
    '## Network Controller traffic per attachment',
    '',
    ...ncSection(results),
    '',
    "## Step 1 against the controller's size (a tenant network of 10 NICs, NIC named by IP)",
    '',
    ...controllerSizeSection(results),
    '',
    '## Scale: per attachment at two sizes, latencies scaled, storage counted',
    '',
    ...scaleSection(results),
    '',
    '## Many attachments on one NIC',
    '',
    ...(shared
      ? table(
          [
            'Attachments',
            'PUTs on the NIC (by status)',
            'Completed',
            'Own result',
            'Addresses on NIC',
            'End-to-end median / p95 (ms)',
          ],
          [
            [
              String(shared.attachments),
              `${shared.puts} (${Object.entries(shared.putStatuses)
                .map(([s, c]) => `${s}: ${c}`)
                .join(', ')})`,
              String(shared.timeline.completed),
              String(shared.ownResults),
              `${shared.addressesOnNic}/${shared.addressesAsked}`,
              ms(shared.timeline.endToEndMs),
            ],
          ],
        )
      : ['_Not measured._']),
    '',
    '## Method and notes',
    '',
    ...meta.notes.map((n) => `- ${n}`),
    ...results.errors.map((e) => `- **${e.part} failed:** ${e.message.split('\n')[0] ?? ''}`),
    '',
  ];
  return lines.join('\n');
}
