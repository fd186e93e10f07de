import { createDevCertificateAuthority, type DevCertificateAuthority } from '../../dev/tls';

let sharedCa: DevCertificateAuthority | undefined;

/** One dev CA per test process, for every emulator and client: key generation is the slow part of starting one. */
export function testCa(): DevCertificateAuthority {
  sharedCa ??= createDevCertificateAuthority('test CA');
  return sharedCa;
}
