import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const pageFolderCandidates = [
  path.join(__dirname, 'statusPage'),
  // Compiled to dist/shared/api, which tsc does not copy the page's files into: use the sources at the package root.
  path.join(__dirname, '..', '..', '..', 'shared', 'api', 'statusPage'),
];

function readPageFile(fileName: string): string {
  for (const folder of pageFolderCandidates) {
    const file = path.join(folder, fileName);
    if (existsSync(file)) return readFileSync(file, 'utf8');
  }
  throw new Error(`Status page file ${fileName} not found in ${pageFolderCandidates.join(' or ')}`);
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Puts `content` where the page's `/*NAME*\/` marker is; the marker must be there exactly once. */
function inline(html: string, marker: string, content: string): string {
  const parts = html.split(`/*${marker}*/`);
  if (parts.length !== 2) throw new Error(`The status page must hold /*${marker}*/ exactly once.`);
  return parts.join(content);
}

/**
 * The status page (shared/api/statusPage/): its HTML with the stylesheet and the script inlined, and the headers to
 * serve it with. The Content-Security-Policy allows exactly that script and that stylesheet (by hash), calls to this
 * origin only, no plugins, frames, forms or base changes, and Trusted Types with no policy, so no string ever
 * reaches an HTML sink.
 */
export function statusPage(): { html: string; headers: Record<string, string> } {
  const template = readPageFile('index.html');
  // The script and style elements' text, exactly as the browser hashes it.
  const script = `\n${readPageFile('statusPage.js')}`;
  const style = `\n${readPageFile('statusPage.css')}`;
  const html = inline(inline(template, 'STYLE', style), 'SCRIPT', script);
  const scriptText = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
  const styleText = /<style>([\s\S]*)<\/style>/.exec(html)?.[1] ?? '';
  const policy = [
    "default-src 'none'",
    `script-src ${sha256(scriptText)}`,
    `style-src ${sha256(styleText)}`,
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
  return {
    html,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': policy,
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Cross-Origin-Opener-Policy': 'same-origin',
    },
  };
}
