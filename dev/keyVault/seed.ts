/**
 * The guest accounts of the lab's container host VMs, as the Key Vault emulator serves them and as the ARM emulator's
 * simulated VMs accept them through PowerShell Direct from HV01. Emulator values, for local runs and tests only.
 */
export const GUEST_SEED = {
  contoso: {
    secretName: 'contoso-guest',
    userName: '.\\sdnattach',
    password: 'Emulated-Guest-Passw0rd-7f3a',
    vmNames: ['ContainerHostVM1', 'ContainerHostVM2'],
  },
  fabrikam: {
    secretName: 'fabrikam-guest',
    userName: '.\\sdnattach',
    password: 'Emulated-Guest-Passw0rd-b41c',
    vmNames: ['FabrikamVM1'],
  },
} as const;

/** A guest account as a secret's value: JSON with the user name and the password (docs/configuration.md). */
export function guestSecretValue(account: { userName: string; password: string }): string {
  return JSON.stringify({ userName: account.userName, password: account.password });
}
