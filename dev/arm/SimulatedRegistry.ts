/** Registry value types the product's scripts and the original Microsoft scripts use. */
export type RegistryValue =
  | { type: 'REG_SZ' | 'REG_EXPAND_SZ'; data: string }
  | { type: 'REG_DWORD'; data: number }
  | { type: 'REG_MULTI_SZ'; data: string[] };

export type RegistryValueType = RegistryValue['type'];

interface RegistryKey {
  path: string;
  values: Map<string, { name: string; value: RegistryValue }>;
}

/** Name shown for a key's unnamed value, as regedit and PowerShell show it. */
export const DEFAULT_VALUE_NAME = '(default)';

/**
 * An in-memory Windows registry: key paths and value names compare without regard to case but keep the case they
 * were created with, values are typed, and keys exist with all their parents.
 */
export class SimulatedRegistry {
  readonly #keys = new Map<string, RegistryKey>();

  /** `HKLM:\X`, `HKEY_LOCAL_MACHINE\X` and `HKLM\X\` all become `HKLM\X`. */
  static normalizePath(path: string): string {
    const trimmed = path.replace(/\//g, '\\').replace(/\\+$/, '');
    return trimmed.replace(/^(HKLM:?|HKEY_LOCAL_MACHINE)\\/i, 'HKLM\\');
  }

  hasKey(path: string): boolean {
    return this.#keys.has(keyOf(path));
  }

  /** Opens or creates the key and its parents, keeping whatever is there (RegistryKey.CreateSubKey). */
  createKey(path: string): void {
    const parts = SimulatedRegistry.normalizePath(path).split('\\');
    for (let length = 1; length <= parts.length; length++) {
      const partial = parts.slice(0, length).join('\\');
      if (!this.#keys.has(partial.toLowerCase()))
        this.#keys.set(partial.toLowerCase(), { path: partial, values: new Map() });
    }
  }

  /** Deletes the key, its values and all its subkeys (RegistryKey.DeleteSubKeyTree). */
  deleteKeyTree(path: string): void {
    const key = keyOf(path);
    for (const candidate of [...this.#keys.keys()]) {
      if (candidate === key || candidate.startsWith(`${key}\\`)) this.#keys.delete(candidate);
    }
  }

  /**
   * What PowerShell's `New-Item -Force` does to a registry key: an existing key is deleted with its subtree and made
   * again, empty. Microsoft's InstallPrivateCloudPlugin.ps1 does this; the product's scripts do not.
   */
  newItemForce(path: string): void {
    this.deleteKeyTree(path);
    this.createKey(path);
  }

  getValue(path: string, name: string): RegistryValue | undefined {
    const value = this.#keys.get(keyOf(path))?.values.get(name.toLowerCase())?.value;
    return value === undefined ? undefined : copyValue(value);
  }

  valueNames(path: string): string[] {
    return [...(this.#keys.get(keyOf(path))?.values.values() ?? [])].map((entry) => entry.name);
  }

  /** Writes a value, creating the key if needed; an existing value of any type is replaced. */
  setValue(path: string, name: string, value: RegistryValue): void {
    if (value.type === 'REG_DWORD' && !(Number.isInteger(value.data) && value.data >= 0 && value.data <= 0xffffffff)) {
      throw new RangeError(`REG_DWORD data must be a 32-bit unsigned integer, got ${value.data}`);
    }
    this.createKey(path);
    const key = this.#keys.get(keyOf(path))!;
    const existing = key.values.get(name.toLowerCase());
    key.values.set(name.toLowerCase(), { name: existing?.name ?? name, value: copyValue(value) });
  }

  deleteValue(path: string, name: string): void {
    this.#keys.get(keyOf(path))?.values.delete(name.toLowerCase());
  }

  /** Every key with at least one value, sorted, the unnamed value shown as `(default)`. */
  toJSON(): Record<string, Record<string, RegistryValue>> {
    const result: Record<string, Record<string, RegistryValue>> = {};
    const keys = [...this.#keys.values()].sort((a, b) => a.path.toLowerCase().localeCompare(b.path.toLowerCase()));
    for (const key of keys) {
      if (key.values.size === 0) continue;
      result[key.path] = Object.fromEntries(
        [...key.values.values()].map(({ name, value }) => [name === '' ? DEFAULT_VALUE_NAME : name, copyValue(value)]),
      );
    }
    return result;
  }
}

function keyOf(path: string): string {
  return SimulatedRegistry.normalizePath(path).toLowerCase();
}

function copyValue(value: RegistryValue): RegistryValue {
  return value.type === 'REG_MULTI_SZ' ? { type: value.type, data: [...value.data] } : { ...value };
}
