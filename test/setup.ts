// Tests load function files outside the Functions host; the library then warns that it runs in "test mode".
// Those two warnings are expected; anything else printed through console.warn stays visible.
const expectedWarnings = [
  'Failed to detect the Azure Functions runtime',
  'because the "@azure/functions" package is in test mode',
];
const originalWarn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  const text = args.map(String).join(' ');
  if (expectedWarnings.some((w) => text.includes(w))) return;
  originalWarn(...args);
};
