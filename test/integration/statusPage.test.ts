import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CHROMIUM_PATH, CHROMIUM_REQUIRED, chromiumAvailability, SCREENSHOT_PATH } from '../support/chromium';
import { type Stack, startStack } from '../support/stack';
import { exampleTenant } from '../support/tenants';

// What the page.evaluate callbacks below use in the browser; the tests' own types have no DOM.
declare const window: { __pwned?: number };
declare const document: { body: { insertAdjacentHTML(where: string, html: string): void } };
declare function getComputedStyle(element: unknown): { backgroundColor: string };

const FUNCTION_KEY = `fk-${randomBytes(24).toString('base64url')}`;
const KEYED = { 'x-functions-key': FUNCTION_KEY };
const HOSTILE = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>"'&amp;`;
const seedExample = JSON.parse(
  readFileSync(path.join(__dirname, '..', '..', 'examples', 'seed-attach.json'), 'utf8'),
) as Record<string, unknown>;

const chromiumHere = chromiumAvailability();
if (!chromiumHere.available) {
  const message = `Status page browser test skipped: ${chromiumHere.reason ?? 'no Chromium'}.`;
  if (CHROMIUM_REQUIRED) throw new Error(message);
  console.warn(message);
}

/** The status page in headless Chromium, against the app running the seed example (tenant contoso). */
describe.skipIf(!chromiumHere.available)('the status page in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  const requests: { url: string; headers: Record<string, string> }[] = [];
  const consoleErrors: string[] = [];

  const row = (tenantId: string, id: string) => page.locator(`tr[data-tenant="${tenantId}"][data-attachment="${id}"]`);

  beforeAll(async () => {
    stack = await startStack({
      runnerArgs: ['--function-key', FUNCTION_KEY],
      defaultHeaders: KEYED,
      labTenants: false,
      waitForEndTimeoutInMs: 40_000,
    });
    for (const tenantId of ['contoso', 'fabrikam'] as const)
      expect((await stack.api('PUT', `/admin/tenants/${tenantId}`, exampleTenant(tenantId))).status).toBe(201);
    const submitted = await stack.api('POST', '/tenants/contoso/attachments', {
      ...seedExample,
      attachmentId: 'seed-example',
    });
    expect(submitted.status).toBe(202);
    await stack.waitForEnd('contoso', 'seed-example');

    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('request', (request) => requests.push({ url: request.url(), headers: request.headers() }));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('is served without a key, under a strict Content-Security-Policy, and asks for the key', async () => {
    const response = await page.goto(`${stack.apiUrl}/ui`);
    expect(response?.status()).toBe(200);
    const policy = response?.headers()['content-security-policy'] ?? '';
    expect(policy).toContain("default-src 'none'");
    expect(policy).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(await page.content()).not.toContain(FUNCTION_KEY);
    await expect.poll(() => page.locator('#notice').textContent()).toMatch(/401/);
  });

  it('shows the tenants and the seed example with its four steps done, once given the key', async () => {
    await page.fill('#key', FUNCTION_KEY);
    await page.click('#access button[type=submit]');
    await row('contoso', 'seed-example').waitFor();
    const sections = await page.locator('section[data-tenant]').all();
    expect(await Promise.all(sections.map((s) => s.getAttribute('data-tenant')))).toEqual(['contoso', 'fabrikam']);
    const seed = row('contoso', 'seed-example');
    expect(await seed.locator('.badge').textContent()).toBe('Completed');
    const segments = await seed.locator('.segment').all();
    expect(await Promise.all(segments.map((s) => s.getAttribute('class')))).toEqual(
      Array(4).fill('segment s-Succeeded'),
    );
    // Drawn as done (the stylesheet's --succeeded green), not as the pending grey.
    const colours = await Promise.all(segments.map((s) => s.evaluate((e) => getComputedStyle(e).backgroundColor)));
    expect(colours).toEqual(Array(4).fill('rgb(31, 157, 85)'));
    expect(await page.locator('section[data-tenant="fabrikam"] .empty').textContent()).toMatch(/No attachments/);
  });

  it('opens the detail: every step with its detail, the result and the history', async () => {
    await row('contoso', 'seed-example').click();
    const detail = page.locator('#detail');
    await detail.locator('tr[data-step="createContainerNetwork"]').waitFor();
    expect(await detail.locator('h2').first().textContent()).toBe('contoso / seed-example');
    for (const step of [
      'addIpConfigurations',
      'enableNetworkProxy',
      'installPrivateCloudPlugin',
      'createContainerNetwork',
    ])
      expect(await detail.locator(`tr[data-step="${step}"] .badge`).textContent()).toBe('Succeeded');
    expect(await detail.locator('.step-detail').count()).toBe(4);
    expect(await detail.locator('pre').textContent()).toContain('192.168.1.0/24');
    expect(await detail.locator('.history tbody tr').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('Submitted'), expect.stringContaining('Completed')]),
    );
    if (SCREENSHOT_PATH) await page.screenshot({ path: SCREENSHOT_PATH });
  });

  it('shows a hostile remote message as text, after refreshing by itself', async () => {
    await stack.nc.admin('POST', '/_emulator/faults', {
      method: 'PUT',
      path: '^/networkInterfaces/',
      status: 400,
      error: { code: 'InvalidResourceReference', message: HOSTILE },
    });
    await stack.api('POST', '/tenants/contoso/attachments', {
      ...seedExample,
      attachmentId: 'hostile',
      containerIps: { count: 1 },
    });
    expect(await stack.waitForEnd('contoso', 'hostile')).toMatchObject({ lastError: { message: HOSTILE } });
    await stack.nc.admin('DELETE', '/_emulator/faults');

    // No reload, no click: the page's own refresh brings the new attachment in.
    await row('contoso', 'hostile').waitFor({ timeout: 15_000 });
    await row('contoso', 'hostile').click();
    const message = page.locator('#detail .error-box .message').first();
    await expect.poll(() => message.textContent(), { timeout: 10_000 }).toBe(HOSTILE);
    expect(await page.locator('img, #detail script, #tenants-view script').count()).toBe(0);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    // Trusted Types with no policy: even the page's own code could not put a string into an HTML sink.
    const sink = await page.evaluate(() => {
      try {
        document.body.insertAdjacentHTML('beforeend', '<b>x</b>');
        return 'allowed';
      } catch {
        return 'refused';
      }
    });
    expect(sink).toBe('refused');
  });

  it('filters by status', async () => {
    await page.check('#filter-Failed');
    await expect.poll(() => row('contoso', 'seed-example').count()).toBe(0);
    expect(await row('contoso', 'hostile').count()).toBe(1);
    await page.uncheck('#filter-Failed');
    await row('contoso', 'seed-example').waitFor();
    const filtered = requests.filter((r) => r.url.includes('runtimeStatus=Failed'));
    expect(filtered.length).toBeGreaterThan(0);
  });

  it('sent the key as a header on every API call and never in a URL', () => {
    const apiCalls = requests.filter((r) => /\/api\/(tenants|admin)\//.test(r.url));
    expect(apiCalls.length).toBeGreaterThan(5);
    const afterKey = apiCalls.filter((r) => r.headers['x-functions-key'] !== undefined);
    expect(afterKey.length).toBeGreaterThan(0);
    for (const call of afterKey) expect(call.headers['x-functions-key']).toBe(FUNCTION_KEY);
    for (const request of requests) expect(request.url).not.toContain(FUNCTION_KEY);
    // The page's own script and style ran under the policy: nothing of its own was refused.
    expect(consoleErrors.filter((e) => /Refused to (execute|apply|load|connect)/i.test(e))).toEqual([]);
  });
});
