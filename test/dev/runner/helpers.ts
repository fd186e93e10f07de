import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import type { PeekedMessageItem, QueueClient } from '@azure/storage-queue';

/** The fixture app the runner tests serve; its function files load the compiled project wrapper from dist/. */
export const FIXTURE_ROOT = path.join(__dirname, 'fixture');
export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const REGISTRY_MODULE_PATH = path.join(REPO_ROOT, 'dist', 'shared', 'functionsHost', 'functionApp.js');

export function assertBuilt(file = REGISTRY_MODULE_PATH): void {
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` before these tests.`);
}

export interface ProbeEvent {
  fn: string;
  phase?: string;
  input?: unknown;
  metadata?: Record<string, unknown>;
  invocationId?: string;
}

interface Probe {
  events: ProbeEvent[];
  eventsOf(fn: string): ProbeEvent[];
}

/** Loaded through Node's require, so it is the instance the runner-loaded fixture functions record into. */
export function loadProbe(): Probe {
  return createRequire(__filename)(path.join(FIXTURE_ROOT, 'probe.js')) as Probe;
}

/** Polls until `check` returns something other than undefined/null/false, or fails with `description` at the deadline. */
export async function waitFor<T>(
  description: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  { timeoutInMs = 15_000, intervalInMs = 25 }: { timeoutInMs?: number; intervalInMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutInMs} ms waiting for ${description}.`);
    await new Promise((resolve) => setTimeout(resolve, intervalInMs));
  }
}

export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

export function fromBase64(text: string): string {
  return Buffer.from(text, 'base64').toString('utf8');
}

/** Visible messages without taking them (peek returns at most 32). */
export async function peekAll(queue: QueueClient): Promise<PeekedMessageItem[]> {
  if (!(await queue.exists())) return [];
  return (await queue.peekMessages({ numberOfMessages: 32 })).peekedMessageItems;
}

/** Messages in the queue, visible or not. */
export async function approximateCount(queue: QueueClient): Promise<number> {
  if (!(await queue.exists())) return 0;
  return (await queue.getProperties()).approximateMessagesCount ?? 0;
}
