import { existsSync } from 'node:fs';

/**
 * Headless Chromium for the status page's browser test: Debian's package (`apt-get install chromium`), driven by
 * playwright-core, which never downloads a browser of its own.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Set by .ci/run: a machine without Chromium fails the browser test instead of skipping it. */
export const CHROMIUM_REQUIRED = process.env.SDNATTACH_REQUIRE_CHROMIUM === '1';

/** Where the status page test writes its screenshot: docs/status-page.png with `npm run screenshot`, else nowhere. */
export const SCREENSHOT_PATH = process.env.SDNATTACH_SCREENSHOT;

/** Whether the browser test can run here, or why not. */
export function chromiumAvailability(): { available: boolean; reason?: string } {
  return existsSync(CHROMIUM_PATH)
    ? { available: true }
    : { available: false, reason: `${CHROMIUM_PATH} is absent; install it with \`apt-get install -y chromium\`` };
}
