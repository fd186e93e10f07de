import { format } from 'node:util';

import type { LogHandler } from '@azure/functions';

export type LineWriter = (line: string) => void;

/** Prefixes every line with an ISO timestamp, like the host's console output. */
export function timestamped(sink: LineWriter): LineWriter {
  return (line) => sink(`[${new Date().toISOString()}] ${line}`);
}

/** context.log/info/warn/error → "<function>: text", with the level named when it is not plain information. */
export function functionLogHandler(functionName: string, write: LineWriter): LogHandler {
  return (level, ...args) => {
    const tag = level === 'information' ? '' : ` [${level}]`;
    write(`${functionName}${tag}: ${format(...args)}`);
  };
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return format(error);
}
