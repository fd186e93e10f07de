import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Resolves package.json `main` the way the Node worker does: as a glob relative to the app root (e.g.
 * `dist/functions/*.js` or `dist/src/{index.js,functions/*.js}`). Node 20 has no fs.globSync, and the forms `main`
 * takes in practice are few, so this supports `*`, `?`, `**` and `{a,b}` only.
 */
export function resolveEntryPointGlob(appRoot: string, pattern: string): string[] {
  const found = new Set<string>();
  for (const expanded of expandBraces(pattern.replace(/\\/g, '/'))) {
    const start = path.isAbsolute(expanded) ? path.parse(path.resolve(expanded)).root : path.resolve(appRoot);
    const segments = expanded.split('/').filter((segment) => segment !== '' && segment !== '.');
    walk(start, segments, 0, found);
  }
  return [...found].sort();
}

export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open === -1) return [pattern];
  let depth = 0;
  let close = -1;
  const commas: number[] = [];
  for (let i = open; i < pattern.length && close === -1; i++) {
    const char = pattern[i];
    if (char === '{') depth++;
    else if (char === '}' && --depth === 0) close = i;
    else if (char === ',' && depth === 1) commas.push(i);
  }
  if (close === -1) return [pattern];
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const bounds = [open, ...commas, close];
  const alternatives = bounds.slice(0, -1).map((from, i) => pattern.slice(from + 1, bounds[i + 1]));
  return alternatives.flatMap((alternative) => expandBraces(head + alternative + tail));
}

function segmentRegExp(segment: string): RegExp {
  const body = segment
    .split('')
    .map((char) => (char === '*' ? '[^/]*' : char === '?' ? '[^/]' : char.replace(/[.+^$()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

function kindOf(file: string): 'file' | 'directory' | undefined {
  try {
    const stats = statSync(file);
    return stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : undefined;
  } catch {
    return undefined;
  }
}

function listDirectory(directory: string): string[] {
  try {
    return readdirSync(directory);
  } catch {
    return [];
  }
}

function walk(directory: string, segments: string[], index: number, found: Set<string>): void {
  const segment = segments[index];
  if (segment === undefined) return;
  const last = index === segments.length - 1;
  const visit = (candidate: string): void => {
    const kind = kindOf(candidate);
    if (last && kind === 'file') found.add(candidate);
    else if (!last && kind === 'directory') walk(candidate, segments, index + 1, found);
  };

  if (segment === '**') {
    // Zero directories, then each subdirectory (skipping dot folders and node_modules, as glob libraries do).
    if (last) return;
    walk(directory, segments, index + 1, found);
    for (const entry of listDirectory(directory)) {
      const child = path.join(directory, entry);
      if (!entry.startsWith('.') && entry !== 'node_modules' && kindOf(child) === 'directory') {
        walk(child, segments, index, found);
      }
    }
    return;
  }
  if (!/[*?]/.test(segment)) {
    visit(path.join(directory, segment));
    return;
  }
  const matcher = segmentRegExp(segment);
  for (const entry of listDirectory(directory)) {
    if (entry.startsWith('.') && !segment.startsWith('.')) continue;
    if (matcher.test(entry)) visit(path.join(directory, entry));
  }
}
