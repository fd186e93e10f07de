import { seedRequest } from './seed';

function seed(): Record<string, unknown> {
  return structuredClone(seedRequest());
}

/** A copy of the seed request with the value at a dotted path replaced (objects on the way are copied). */
export function withPath(
  path: string,
  value: unknown,
  base: Record<string, unknown> = seed(),
): Record<string, unknown> {
  const copy = structuredClone(base);
  const parts = path.split('.');
  let node: Record<string, unknown> = copy;
  for (const part of parts.slice(0, -1)) {
    const child = node[part];
    const next = typeof child === 'object' && child !== null && !Array.isArray(child) ? { ...child } : {};
    node[part] = next;
    node = next;
  }
  const last = parts[parts.length - 1] ?? '';
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}
