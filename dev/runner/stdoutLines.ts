/**
 * Log lines to stdout, gathered per event-loop turn and written with one call. A pipe write is a synchronous
 * system call on Linux, so a line per call costs a busy runner a few per cent of its CPU; the lines, their order
 * and their timestamps (taken when written here) are unchanged.
 */
const pending: string[] = [];
let scheduled = false;

export function flushStdoutLines(): void {
  scheduled = false;
  if (pending.length === 0) return;
  const text = `${pending.join('\n')}\n`;
  pending.length = 0;
  process.stdout.write(text);
}

export function writeStdoutLine(line: string): void {
  pending.push(line);
  if (scheduled) return;
  scheduled = true;
  setImmediate(flushStdoutLines);
}

// process.exit() skips pending immediates: write what is left (stdout writes to pipes and files are synchronous).
process.on('exit', flushStdoutLines);
