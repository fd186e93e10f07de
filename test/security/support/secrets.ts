/** Distinctive pieces of a secret to look for in output: whole secrets would miss a truncated or re-wrapped leak. */
export function pemBodyFragments(pem: string, length = 24): string[] {
  const body = pem
    .split(/\r?\n/)
    .filter((line) => line !== '' && !line.startsWith('-----'))
    .join('');
  return slices(body, length);
}

/** Non-overlapping slices of `text` of `length` characters (the last partial slice is dropped). */
export function slices(text: string, length: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + length <= text.length; i += length) out.push(text.slice(i, i + length));
  return out;
}

/** Every named secret fragment that occurs in `haystack`, as `name: fragment`. */
export function leaks(haystack: string, secrets: Record<string, string[]>): string[] {
  const found: string[] = [];
  for (const [name, fragments] of Object.entries(secrets)) {
    for (const fragment of fragments) if (haystack.includes(fragment)) found.push(`${name}: ${fragment}`);
  }
  return found;
}
