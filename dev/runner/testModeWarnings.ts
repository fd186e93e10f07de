/**
 * Outside the real host, `@azure/functions` cannot find the worker's core module and prints "test mode" warnings on
 * every `app.*` call. The runner reads registrations from the project's own registry instead, so exactly those two
 * warnings are noise here; anything else printed through console.warn stays visible.
 */
const TEST_MODE_WARNINGS = [
  'Failed to detect the Azure Functions runtime',
  'because the "@azure/functions" package is in test mode',
];

export function withTestModeWarningsSuppressed<T>(action: () => T): T {
  const originalWarn = console.warn;
  console.warn = (...args: unknown[]): void => {
    const text = args.map(String).join(' ');
    if (TEST_MODE_WARNINGS.some((warning) => text.includes(warning))) return;
    originalWarn(...args);
  };
  try {
    return action();
  } finally {
    console.warn = originalWarn;
  }
}
