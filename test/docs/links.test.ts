import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

/**
 * The Markdown manual stays navigable and the README stays a front door: every relative link resolves, the README
 * is small, and no table row in the README or docs/ is too wide to read.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const README_MAX_BYTES = 16_384;
const TABLE_ROW_MAX_CHARS = 160;

/** Every Markdown file git tracks, plus new ones not yet added, outside node_modules and dist. */
function markdownFiles(): string[] {
  const listed = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '--deduplicate', '--', '*.md'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  return [...new Set(listed.split('\n').filter(Boolean))]
    .filter((file) => !/(^|\/)(node_modules|dist)\//.test(file))
    .filter((file) => existsSync(path.join(ROOT, file)))
    .sort();
}

function withoutFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** Text outside fenced code blocks and inline code spans, where a `[text](target)` is not a link. */
function proseOf(markdown: string): string {
  return withoutFences(markdown).replace(/`[^`\n]*`/g, '');
}

/** The targets of inline links and images: `[text](target)` or `[text](target "title")`. */
function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const match of proseOf(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    targets.push(match[1]!);
  }
  return targets;
}

function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#');
}

/** The file or folder a relative link names, without its anchor or query. */
function resolveTarget(fromFile: string, target: string): string {
  const bare = decodeURIComponent(target.replace(/[#?].*$/, ''));
  const base = bare.startsWith('/') ? ROOT : path.dirname(path.join(ROOT, fromFile));
  return path.join(base, bare.replace(/^\//, ''));
}

/** Markdown table rows, as written (code spans included), outside fenced code blocks. */
function tableRows(markdown: string): string[] {
  return withoutFences(markdown)
    .split('\n')
    .filter((line) => /^\s*\|.*\|\s*$/.test(line));
}

describe('Markdown links', () => {
  const files = markdownFiles();

  it('finds the manual', () => {
    expect(files).toContain('README.md');
  });

  it.each(files)('%s: every relative link resolves to a file or folder', (file) => {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const broken = linkTargets(text)
      .filter((target) => !isExternal(target))
      .filter((target) => !existsSync(resolveTarget(file, target)));
    expect(broken).toEqual([]);
  });
});

describe('README front door', () => {
  it(`is at most ${README_MAX_BYTES} bytes`, () => {
    expect(statSync(path.join(ROOT, 'README.md')).size).toBeLessThanOrEqual(README_MAX_BYTES);
  });

  const manual = ['README.md', ...markdownFiles().filter((file) => /^docs\/[^/]+\.md$/.test(file))];

  it.each(manual)(`%s: no table row is longer than ${TABLE_ROW_MAX_CHARS} characters`, (file) => {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const long = tableRows(text).filter((row) => [...row].length > TABLE_ROW_MAX_CHARS);
    expect(long).toEqual([]);
  });
});

describe('linkTargets', () => {
  it('reads inline links and images, and skips code', () => {
    const text = [
      'See [steps](docs/steps.md#writing) and ![chart](docs/performance/chart.svg "Chart").',
      '`[not](a-link.md)` and [site](https://example.com), [top](#top).',
      '```',
      '[inside](fenced.md)',
      '```',
    ].join('\n');
    expect(linkTargets(text)).toEqual([
      'docs/steps.md#writing',
      'docs/performance/chart.svg',
      'https://example.com',
      '#top',
    ]);
  });
});
