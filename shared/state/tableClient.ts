import { RestError, type TableClient } from '@azure/data-tables';

import { tableClientFor } from './storageConnection';

/** A table client for a connection string (see tableClientFor for identity-based connections). */
export function tableClientFrom(connectionString: string, tableName: string): TableClient {
  return tableClientFor({ mode: 'connectionString', connectionString }, tableName);
}

/** Creates the table on first use (idempotent), and again after a failed attempt. */
export function lazyTableCreation(table: TableClient): () => Promise<void> {
  let ready: Promise<void> | undefined;
  return () => {
    ready ??= table.createTable().catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };
}

/** The HTTP status of a storage error, whatever shape the SDK gave it. */
export function statusOf(error: unknown): number | undefined {
  if (error instanceof RestError) return error.statusCode;
  return typeof error === 'object' && error !== null ? (error as { statusCode?: number }).statusCode : undefined;
}
