import { createHash } from 'node:crypto';

import forge from 'node-forge';

/**
 * Development-only certificate authority, generated in memory at emulator start so the emulators speak real HTTPS
 * (and mutual TLS when asked) without any files checked in.
 */
export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  /** SHA-1 thumbprint in upper-case hex, the form Network Controller's `ClientCertificateThumbprint` lists. */
  thumbprint: string;
}

export interface DevCertificateAuthority {
  caCertPem: string;
  issueServerCertificate(hostNames: readonly string[]): IssuedCertificate;
  issueClientCertificate(commonName: string): IssuedCertificate & { pfxBase64(passphrase: string): string };
}

const KEY_BITS = 2048;

function serialNumber(): string {
  // Positive, non-zero, 16 bytes.
  return '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
}

function thumbprintOf(cert: forge.pki.Certificate): string {
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes();
  return createHash('sha1').update(Buffer.from(der, 'binary')).digest('hex').toUpperCase();
}

function validity(cert: forge.pki.Certificate, days: number): void {
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now + days * 24 * 3600_000);
}

export function createDevCertificateAuthority(name = 'SDN attach dev CA'): DevCertificateAuthority {
  const caKeys = forge.pki.rsa.generateKeyPair(KEY_BITS);
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = serialNumber();
  validity(ca, 30);
  const caSubject = [{ name: 'commonName', value: name }];
  ca.setSubject(caSubject);
  ca.setIssuer(caSubject);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  function issue(
    commonName: string,
    extensions: object[],
  ): { cert: forge.pki.Certificate; keys: forge.pki.rsa.KeyPair } {
    const keys = forge.pki.rsa.generateKeyPair(KEY_BITS);
    const cert = forge.pki.createCertificate();
    cert.publicKey = keys.publicKey;
    cert.serialNumber = serialNumber();
    validity(cert, 7);
    cert.setSubject([{ name: 'commonName', value: commonName }]);
    cert.setIssuer(caSubject);
    cert.setExtensions([{ name: 'basicConstraints', cA: false }, ...extensions]);
    cert.sign(caKeys.privateKey, forge.md.sha256.create());
    return { cert, keys };
  }

  return {
    caCertPem: forge.pki.certificateToPem(ca),
    issueServerCertificate(hostNames) {
      const altNames = hostNames.map((host) =>
        /^\d+\.\d+\.\d+\.\d+$/.test(host) ? { type: 7, ip: host } : { type: 2, value: host },
      );
      const { cert, keys } = issue(hostNames[0] ?? 'localhost', [
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
        { name: 'subjectAltName', altNames },
      ]);
      return {
        certPem: forge.pki.certificateToPem(cert),
        keyPem: forge.pki.privateKeyToPem(keys.privateKey),
        thumbprint: thumbprintOf(cert),
      };
    },
    issueClientCertificate(commonName) {
      const { cert, keys } = issue(commonName, [
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', clientAuth: true },
      ]);
      return {
        certPem: forge.pki.certificateToPem(cert),
        keyPem: forge.pki.privateKeyToPem(keys.privateKey),
        thumbprint: thumbprintOf(cert),
        pfxBase64(passphrase: string) {
          const p12 = forge.pkcs12.toPkcs12Asn1(keys.privateKey, [cert], passphrase, { algorithm: '3des' });
          return Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary').toString('base64');
        },
      };
    },
  };
}
