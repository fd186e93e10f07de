import { Command, CommanderError } from 'commander';

import { AttachmentIdSchema, TenantIdSchema } from '../shared/model/attachRequest';
import { RUNTIME_STATUSES } from '../shared/model/records';
import { ApiClient, type ApiClientOptions } from './ApiClient';
import type { AttachmentDocument, FieldDetail } from './documents';
import { type CliEnvironment, ENVIRONMENT_NAMES } from './environment';
import { ApiError, ApiUnreachableError, ExitCode, exitCodeOf, UsageError } from './errors';
import { documentReport, type OutputStream, PlainProgress, type Progress, TtyProgress } from './render';
import { hasEnded, watchAttachment } from './watchAttachment';

export const DEFAULT_API_URL = 'http://127.0.0.1:7071/api';

/** Everything the CLI touches outside itself, so tests can run it in-process. */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: CliEnvironment;
  readFile: (path: string) => string;
  /** Aborted by Ctrl-C: stops a watch (or a call under way), never the attachment. */
  signal?: AbortSignal;
  /** Overrides for the API client (tests: retries and waits). */
  client?: Partial<ApiClientOptions>;
  /** The wait between polls when the API gives no `Retry-After`; and the waits themselves (tests). */
  watch?: { defaultPollInMs?: number; sleep?: (ms: number, signal?: AbortSignal) => Promise<void> };
}

interface GlobalOptions {
  api?: string;
  key?: string;
  token?: string;
  json?: boolean;
}

const EXIT_FOR_STATUS: Record<string, ExitCode> = {
  Completed: ExitCode.Ok,
  Detached: ExitCode.Ok,
  Failed: ExitCode.Failed,
  Canceled: ExitCode.Canceled,
};

/** Thrown when Ctrl-C stops a watch; the attachment itself goes on. */
class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

const HELP_FOOTER = `
Authentication: --key or ${ENVIRONMENT_NAMES.functionKey} (the function key, sent as x-functions-key); on Azure also
--token or ${ENVIRONMENT_NAMES.bearerToken} (an Entra ID access token for App Service Authentication). Prefer the
environment variables: options show up in the process list and the shell's history.

Exit codes: 0 Completed or Detached (or done as asked), 1 Failed, 2 usage or input error (the API's field details are
printed), 3 Canceled, 4 the API cannot be reached, 130 Ctrl-C (the watch stops; the attachment goes on).
See docs/cli.md.`;

/** Runs one command line (without the node and script arguments); resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let exitCode: ExitCode = ExitCode.Ok;
  const setExit = (code: ExitCode) => (exitCode = code);
  const program = createProgram(io, setExit);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help asked for: 0. Help shown because no command was given, or any parse error: a usage error.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version'
        ? ExitCode.Ok
        : ExitCode.Usage;
    }
    const json = program.opts<GlobalOptions>().json === true;
    reportError(error, io.stderr, json);
    return error instanceof Interrupted ? ExitCode.Interrupted : exitCodeOf(error);
  }
}

function reportError(error: unknown, stderr: OutputStream, json: boolean): void {
  if (error instanceof Interrupted) {
    stderr.write(`\n${error.message}\n`);
    return;
  }
  if (error instanceof ApiError) {
    if (json) {
      const body = { code: error.code, message: error.message, status: error.status, details: error.details };
      stderr.write(`${JSON.stringify({ error: body })}\n`);
      return;
    }
    stderr.write(`Error: ${error.code} (HTTP ${error.status}): ${error.message}\n`);
    for (const line of detailLines(error.details)) stderr.write(`${line}\n`);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (json) stderr.write(`${JSON.stringify({ error: { code: errorCode(error), message } })}\n`);
  else stderr.write(`Error: ${message}\n`);
}

function errorCode(error: unknown): string {
  if (error instanceof ApiUnreachableError) return 'ApiUnreachable';
  if (error instanceof UsageError) return 'Usage';
  return 'Unexpected';
}

function detailLines(details: readonly FieldDetail[]): string[] {
  return details.map((d) => `  ${d.target ?? '(request)'}: ${d.message}${d.code ? ` (${d.code})` : ''}`);
}

function createProgram(io: CliIo, setExit: (code: ExitCode) => void): Command {
  const program = new Command('sdn-attach')
    .description('Attach Windows container endpoints to a tenant virtual network, through the sdn-attach HTTP API.')
    .option('--api <url>', `the API's base URL (default ${DEFAULT_API_URL}, or ${ENVIRONMENT_NAMES.apiUrl})`)
    .option('--key <key>', `the function key (default ${ENVIRONMENT_NAMES.functionKey})`)
    .option(
      '--token <token>',
      `an Entra ID access token for App Service Authentication (default ${ENVIRONMENT_NAMES.bearerToken})`,
    )
    .option('--json', 'print the API documents as JSON (one per line while watching)')
    .addHelpText('after', HELP_FOOTER)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });

  const contextOf = (command: Command) => commandContext(command.optsWithGlobals<GlobalOptions>(), io, setExit);

  program
    .command('submit')
    .description('submit an attach request (a JSON file, or - for standard input) for a tenant')
    .argument('<file>', 'the attach request, e.g. examples/seed-attach.json')
    .requiredOption('-t, --tenant <tenantId>', 'the tenant')
    .option('--id <attachmentId>', 'the attachment id (idempotency key); overrides the file’s attachmentId')
    .option('-w, --wait', 'watch the steps until the attachment ends')
    .action(async (file: string, options: { tenant: string; id?: string; wait?: boolean }, command: Command) => {
      const context = contextOf(command);
      const tenantId = checkedTenant(options.tenant);
      const request = readJsonFile(io, file, 'FILE');
      if (options.id !== undefined) {
        if (typeof request !== 'object' || request === null || Array.isArray(request))
          throw new UsageError('FILE: must hold a JSON object (the attach request)');
        (request as Record<string, unknown>).attachmentId = checkedAttachment(options.id, '--id');
      }
      const answer = await context.client.submitAttachment(tenantId, request, { signal: io.signal });
      const summary = answer.body;
      if (options.wait) return context.watch(tenantId, summary.id);
      if (context.json) context.printJson(summary);
      else {
        const created = (summary as { created?: unknown }).created === false ? ' (already submitted)' : '';
        context.print(`Submitted ${tenantId}/${summary.id}: ${summary.runtimeStatus}${created}`);
        context.print(`Status: ${answer.location ?? summary.statusQueryGetUri}`);
        context.print(`Watch:  sdn-attach watch ${tenantId} ${summary.id}`);
      }
    });

  program
    .command('status')
    .description('show an attachment’s status document once')
    .argument('<tenantId>')
    .argument('<attachmentId>')
    .option('--history', 'include the event history')
    .action(async (tenant: string, id: string, options: { history?: boolean }, command: Command) => {
      const context = contextOf(command);
      const answer = await context.client.getAttachment(checkedTenant(tenant), checkedAttachment(id), {
        showHistory: options.history,
        signal: io.signal,
      });
      if (context.json) context.printJson(answer.body);
      else {
        for (const line of documentReport(answer.body, Date.now())) context.print(line);
        const history = (answer.body as { history?: { time: string; type: string; step?: string }[] }).history;
        for (const event of history ?? [])
          context.print(`  ${event.time} ${event.type}${event.step ? ` ${event.step}` : ''}`);
      }
      // A read of an attachment still under way is a success; an ended one reports its outcome.
      if (hasEnded(answer.body)) setExit(EXIT_FOR_STATUS[answer.body.runtimeStatus] ?? ExitCode.Ok);
    });

  program
    .command('watch')
    .description(
      'show an attachment’s steps as they progress, until it ends (Ctrl-C stops watching, not the attachment)',
    )
    .argument('<tenantId>')
    .argument('<attachmentId>')
    .action(async (tenant: string, id: string, _options: unknown, command: Command) =>
      contextOf(command).watch(checkedTenant(tenant), checkedAttachment(id)),
    );

  program
    .command('list')
    .description('list a tenant’s attachments')
    .argument('<tenantId>')
    .option('-s, --status <statuses>', `only these runtime statuses, comma-separated (${RUNTIME_STATUSES.join(', ')})`)
    .option('--top <n>', 'at most this many (one page); all pages when absent')
    .action(async (tenant: string, options: { status?: string; top?: string }, command: Command) => {
      const context = contextOf(command);
      const tenantId = checkedTenant(tenant);
      const runtimeStatus = (options.status ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const top = options.top === undefined ? undefined : checkedCount(options.top, '--top');
      const items: AttachmentDocument[] = [];
      let continuationToken: string | undefined;
      do {
        const page = await context.client.listAttachments(tenantId, {
          runtimeStatus,
          top,
          continuationToken,
          signal: io.signal,
        });
        items.push(...page.body.value);
        continuationToken = top === undefined ? continuationOf(page.body.nextLink) : undefined;
      } while (continuationToken);
      if (context.json) return context.printJson(items);
      if (items.length === 0)
        return context.print(
          `No attachments of ${tenantId}${runtimeStatus.length ? ` (${runtimeStatus.join(', ')})` : ''}.`,
        );
      context.printTable(
        ['ID', 'STATUS', 'STEP', 'UPDATED'],
        items.map((a) => [a.id, a.runtimeStatus, a.currentStep ?? '-', a.lastUpdatedTime]),
      );
    });

  const control = (
    name: 'retry' | 'cancel' | 'detach',
    description: string,
    call: (client: ApiClient, tenantId: string, attachmentId: string) => Promise<{ body: AttachmentDocument }>,
  ) =>
    program
      .command(name)
      .description(description)
      .argument('<tenantId>')
      .argument('<attachmentId>')
      .option('-w, --wait', 'watch until the attachment ends')
      .action(async (tenant: string, id: string, options: { wait?: boolean }, command: Command) => {
        const context = contextOf(command);
        const tenantId = checkedTenant(tenant);
        const attachmentId = checkedAttachment(id);
        const answer = await call(context.client, tenantId, attachmentId);
        if (options.wait) return context.watch(tenantId, attachmentId);
        if (context.json) context.printJson(answer.body);
        else context.print(`${tenantId}/${attachmentId}: ${answer.body.runtimeStatus} (${name} accepted)`);
      });

  control('retry', 'restart a Failed attachment at its failed step', (client, t, id) =>
    client.retryAttachment(t, id, { signal: io.signal }),
  );
  control('cancel', 'stop an attachment at the next step boundary', (client, t, id) =>
    client.cancelAttachment(t, id, { signal: io.signal }),
  );
  control('detach', 'take back what an attachment made (DELETE)', (client, t, id) =>
    client.detachAttachment(t, id, { signal: io.signal }),
  );

  const tenants = program.command('tenants').description('the tenant registry (operator only)');
  tenants
    .command('put')
    .description('register or replace a tenant from a JSON file (e.g. examples/tenants/contoso.json)')
    .argument('<tenantId>')
    .argument('<file>')
    .option('--if-match <etag>', 'replace only if the entry still has this ETag')
    .option('--create-only', 'only register a new tenant (If-None-Match: *)')
    .action(
      async (tenant: string, file: string, options: { ifMatch?: string; createOnly?: boolean }, command: Command) => {
        const context = contextOf(command);
        const tenantId = checkedTenant(tenant);
        const entry = readJsonFile(io, file, 'FILE');
        const answer = await context.client.putTenant(tenantId, entry, {
          ifMatch: options.ifMatch,
          ifNoneMatch: options.createOnly ? '*' : undefined,
          signal: io.signal,
        });
        if (context.json) return context.printJson(answer.body);
        context.print(
          `Tenant ${tenantId} ${answer.status === 201 ? 'registered' : 'replaced'}${answer.etag ? ` (ETag ${answer.etag})` : ''}`,
        );
      },
    );
  tenants
    .command('get')
    .description('show a tenant’s registry entry')
    .argument('<tenantId>')
    .option('--history', 'include every change')
    .action(async (tenant: string, options: { history?: boolean }, command: Command) => {
      const context = contextOf(command);
      const answer = await context.client.getTenant(checkedTenant(tenant), {
        showHistory: options.history,
        signal: io.signal,
      });
      if (!context.json && answer.etag) io.stderr.write(`ETag: ${answer.etag}\n`);
      context.printJson(answer.body);
    });
  tenants
    .command('list')
    .description('list the registered tenants')
    .action(async (_options: unknown, command: Command) => {
      const context = contextOf(command);
      const items = [];
      let continuationToken: string | undefined;
      do {
        const page = await context.client.listTenants({ continuationToken, signal: io.signal });
        items.push(...page.body.value);
        continuationToken = continuationOf(page.body.nextLink);
      } while (continuationToken);
      if (context.json) return context.printJson(items);
      if (items.length === 0) return context.print('No tenants registered.');
      context.printTable(
        ['TENANT', 'VIRTUAL NETWORKS', 'MACHINES', 'PRINCIPALS'],
        items.map((t) => [
          t.tenantId,
          Object.entries(t.networkControllers)
            .map(([controller, c]) => `${controller}: ${c.virtualNetworks.join(', ')}`)
            .join('; '),
          t.machines.map((m) => m.machineName).join(', '),
          String(t.principals.length),
        ]),
      );
    });
  tenants
    .command('delete')
    .description('remove a tenant from the registry (refused while it has attachments in flight)')
    .argument('<tenantId>')
    .option('--if-match <etag>', 'delete only if the entry still has this ETag')
    .action(async (tenant: string, options: { ifMatch?: string }, command: Command) => {
      const context = contextOf(command);
      const tenantId = checkedTenant(tenant);
      await context.client.deleteTenant(tenantId, { ifMatch: options.ifMatch, signal: io.signal });
      if (context.json) context.printJson({ tenantId, deleted: true });
      else context.print(`Tenant ${tenantId} deleted`);
    });

  return program;
}

/** What every command needs: the client, the output form, and the watch with its exit code. */
function commandContext(options: GlobalOptions, io: CliIo, setExit: (code: ExitCode) => void) {
  const client = new ApiClient({
    apiUrl: checkedApiUrl(options.api ?? io.env.apiUrl ?? DEFAULT_API_URL),
    functionKey: options.key ?? io.env.functionKey,
    bearerToken: options.token ?? io.env.bearerToken,
    ...io.client,
  });
  const json = options.json === true;
  const print = (line: string): void => {
    io.stdout.write(`${line}\n`);
  };
  const context = {
    client,
    json,
    print,
    printJson: (value: unknown): void => print(JSON.stringify(value, null, 2)),
    printTable(header: string[], rows: string[][]) {
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
      for (const row of [header, ...rows])
        print(
          row
            .map((cell, i) => cell.padEnd(widths[i] ?? 0))
            .join('  ')
            .trimEnd(),
        );
    },
    /** Follows the attachment to its end; the exit code says how it ended. */
    async watch(tenantId: string, attachmentId: string): Promise<void> {
      let progress: Progress | undefined;
      let lastJson: string | undefined;
      if (!json) progress = io.stdout.isTTY ? new TtyProgress(io.stdout) : new PlainProgress(io.stdout);
      try {
        const last = await watchAttachment(client, tenantId, attachmentId, {
          signal: io.signal,
          defaultPollInMs: io.watch?.defaultPollInMs,
          sleep: io.watch?.sleep,
          onDocument: (document) => {
            if (!json) {
              progress?.update(document);
              return;
            }
            const text = JSON.stringify(document);
            if (text !== lastJson) io.stdout.write(`${text}\n`);
            lastJson = text;
          },
        });
        progress?.finish(last);
        setExit(EXIT_FOR_STATUS[last.runtimeStatus] ?? ExitCode.Failed);
      } catch (error) {
        progress?.stop();
        if (io.signal?.aborted)
          throw new Interrupted(
            `Stopped watching; ${tenantId}/${attachmentId} goes on. Watch again: sdn-attach watch ${tenantId} ${attachmentId}`,
          );
        throw error;
      }
    },
  };
  return context;
}

function checkedTenant(text: string): string {
  const parsed = TenantIdSchema.safeParse(text);
  if (!parsed.success) throw new UsageError(`tenantId "${text}": ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

function checkedAttachment(text: string, name = 'attachmentId'): string {
  const parsed = AttachmentIdSchema.safeParse(text);
  if (!parsed.success) throw new UsageError(`${name} "${text}": ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

function checkedCount(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${name}: "${text}" is not a whole number from 1`);
  return value;
}

function checkedApiUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--api: "${text}" is not a URL, e.g. ${DEFAULT_API_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--api: "${text}" must be an http or https URL`);
  // Not echoed: a key pasted into the URL (?code=, user:password@) must not end up in a terminal's scrollback.
  if (url.username || url.password || url.search)
    throw new UsageError(
      `--api: give the base URL alone, without credentials or a query; pass the key with --key or ${ENVIRONMENT_NAMES.functionKey}`,
    );
  return url.toString().replace(/\/+$/, '');
}

function readJsonFile(io: CliIo, path: string, name: string): unknown {
  let text: string;
  try {
    text = io.readFile(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UsageError(`${name} ${path}: cannot be read${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${name} ${path}: is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** The continuation token of a `nextLink`, so the next page goes through the same client (and `--api`). */
function continuationOf(nextLink: string | null): string | undefined {
  if (!nextLink) return undefined;
  try {
    return new URL(nextLink).searchParams.get('continuationToken') ?? undefined;
  } catch {
    return undefined;
  }
}
