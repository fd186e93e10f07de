import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { statusPage } from '../../../shared/api/statusPage';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** What needs no browser; test/integration/statusPage.test.ts runs the page in Chromium. */
describe('the status page as served', () => {
  const { html, headers } = statusPage();
  const policy = headers['Content-Security-Policy'] ?? '';
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '');
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] ?? '');

  it('allows exactly its one inline script and one stylesheet, by hash, and nothing inline besides', () => {
    expect(scripts).toHaveLength(1);
    expect(styles).toHaveLength(1);
    expect(policy).toContain(`script-src ${sha256(scripts[0] ?? '')};`);
    expect(policy).toContain(`style-src ${sha256(styles[0] ?? '')};`);
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("require-trusted-types-for 'script'");
    expect(policy).not.toMatch(/unsafe-|\*|https?:/);
    expect(html).not.toMatch(/<script[^>]+src=|<link|\son[a-z]+=|style="/i);
    expect(html).not.toContain('/*SCRIPT*/');
    expect(html).not.toContain('/*STYLE*/');
  });

  it('is served as HTML that is neither cached, framed, sniffed nor given a referrer', () => {
    expect(headers).toMatchObject({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
    });
  });

  it('builds the page from text only: no HTML sink, no eval, no key in a URL', () => {
    const script = scripts[0] ?? '';
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
    expect(script).toContain('sessionStorage');
    expect(script).not.toMatch(/localStorage|[?&]code=/);
    expect(script).toContain("headers['x-functions-key']");
  });
});
