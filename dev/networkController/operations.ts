import { newGuid } from './http';
import type { ErrorDetail, OperationStatus } from './types';

export type OperationKind = 'put' | 'delete' | 'deleteChild';

export interface Operation {
  id: string;
  kind: OperationKind;
  /** refKey of the top-level resource whose tree the operation locks. */
  targetKey: string;
  status: OperationStatus;
  error?: ErrorDetail;
  timer?: NodeJS.Timeout;
}

/**
 * Asynchronous operations and the one-operation-per-resource-tree lock. Records are kept until reset, like NC's
 * operation history.
 */
export class OperationTracker {
  private readonly operations = new Map<string, Operation>();
  private readonly running = new Map<string, Operation>();

  get(id: string): Operation | undefined {
    return this.operations.get(id.toLowerCase());
  }

  runningOn(targetKey: string): Operation | undefined {
    return this.running.get(targetKey);
  }

  /** Starts an operation that runs `settle` after `delayInMs`, unless it was cancelled first. */
  start(kind: OperationKind, targetKey: string, delayInMs: number, settle: (operation: Operation) => void): Operation {
    const operation: Operation = { id: newGuid(), kind, targetKey, status: 'InProgress' };
    this.operations.set(operation.id, operation);
    this.running.set(targetKey, operation);
    operation.timer = setTimeout(() => {
      operation.timer = undefined;
      if (operation.status === 'InProgress') settle(operation);
    }, delayInMs);
    return operation;
  }

  finish(operation: Operation, status: Exclude<OperationStatus, 'InProgress'>, error?: ErrorDetail): void {
    if (operation.timer !== undefined) clearTimeout(operation.timer);
    operation.timer = undefined;
    operation.status = status;
    if (error !== undefined) operation.error = error;
    if (this.running.get(operation.targetKey) === operation) this.running.delete(operation.targetKey);
  }

  clear(): void {
    for (const operation of this.operations.values()) {
      if (operation.timer !== undefined) clearTimeout(operation.timer);
    }
    this.operations.clear();
    this.running.clear();
  }
}
