import { gzipSync } from 'node:zlib';

import { ValidationError } from '../errors';
import { loadScriptText, type RunCommandParameter } from './scripts';

/** The guest account PowerShell Direct signs in with, as read from Key Vault. Never logged, never stored. */
export interface GuestCredential {
  userName: string;
  password: string;
}

/** A VM reached from the Hyper-V host a run command runs on, with PowerShell Direct. */
export interface GuestTarget {
  vmName: string;
  credential: GuestCredential;
}

/**
 * The patterns of `invoke-in-vm.ps1`'s parameters, character for character as in its `[ValidatePattern]`s (a test
 * compares them). The inner script travels gzip-compressed, its parameters as JSON, the password as UTF-8, all base64.
 */
export const guestParameterPatterns = {
  InnerScript: '^[A-Za-z0-9+/=]{4,262144}$(?!\\n)',
  InnerParameters: '^[A-Za-z0-9+/=]{4,16384}$(?!\\n)',
  VmName: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$(?!\\n)',
  GuestUserName: '^[A-Za-z0-9._\\\\@-]{1,104}$(?!\\n)',
  GuestPassword: '^[A-Za-z0-9+/=]{4,1368}$(?!\\n)',
} as const;

/** The longest password the wrapper takes, in UTF-8 bytes. */
export const MAX_GUEST_PASSWORD_BYTES = 1024;

let wrapperText: string | undefined;

/** `invoke-in-vm.ps1`: runs a product script in a VM from its Hyper-V host (PowerShell Direct). */
export const invokeInVmScript = {
  name: 'invoke-in-vm',
  version: 1,
  marker: '# sdn-attach-script: invoke-in-vm v1',
  fileName: 'invoke-in-vm.ps1',
  /** Added to the inner script's timeout: the PowerShell Direct session's start. */
  extraTimeoutInSeconds: 60,
  get text(): string {
    wrapperText ??= loadScriptText('invoke-in-vm.ps1');
    return wrapperText;
  },
} as const;

/** What a run command carries to run `inner` in the guest: the wrapper's text, its parameters, the password apart. */
export interface GuestRunBody {
  script: string;
  parameters: RunCommandParameter[];
  protectedParameters: RunCommandParameter[];
}

/**
 * Wraps a product script and its parameters for a run in `guest` through the Hyper-V host. Throws ValidationError
 * naming the field (never its value) when the VM name, user name or password cannot be passed.
 */
export function wrapForGuest(
  inner: { text: string; parameters: readonly RunCommandParameter[] },
  guest: GuestTarget,
): GuestRunBody {
  const issues = [];
  if (!new RegExp(guestParameterPatterns.VmName).test(guest.vmName))
    issues.push({
      field: 'vmName',
      reason: 'must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit',
    });
  if (!new RegExp(guestParameterPatterns.GuestUserName).test(guest.credential.userName))
    issues.push({
      field: 'credential.userName',
      reason: 'must be 1-104 letters, digits, ".", "_", "\\", "@" or "-" (e.g. .\\Administrator, CONTOSO\\ops)',
    });
  const passwordBytes = Buffer.byteLength(guest.credential.password, 'utf8');
  if (passwordBytes < 1 || passwordBytes > MAX_GUEST_PASSWORD_BYTES)
    issues.push({ field: 'credential.password', reason: `must be 1-${MAX_GUEST_PASSWORD_BYTES} bytes` });
  if (issues.length > 0) throw new ValidationError(issues, { code: 'InvalidGuestCredential' });
  const innerParameters = Object.fromEntries(inner.parameters.map(({ name, value }) => [name, value]));
  return {
    script: invokeInVmScript.text,
    parameters: [
      { name: 'InnerScript', value: gzipSync(Buffer.from(inner.text, 'utf8')).toString('base64') },
      { name: 'InnerParameters', value: Buffer.from(JSON.stringify(innerParameters), 'utf8').toString('base64') },
      { name: 'VmName', value: guest.vmName },
      { name: 'GuestUserName', value: guest.credential.userName },
    ],
    protectedParameters: [
      { name: 'GuestPassword', value: Buffer.from(guest.credential.password, 'utf8').toString('base64') },
    ],
  };
}
