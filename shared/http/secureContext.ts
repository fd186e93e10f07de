import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';

/**
 * TLS material as https.Agent options that build its secure context once. Given the material itself, an agent
 * builds a new secure context for every connection it opens, parsing the CA bundle (for Azure, every public root)
 * and the client certificate again each time, and joins the whole bundle into its pool key on every request.
 * Material that does not load is handed over as it is, so the first request fails the way it always did.
 */
export function tlsAgentOptions(
  material: SecureContextOptions,
): { secureContext: SecureContext } | SecureContextOptions {
  try {
    return { secureContext: createSecureContext(material) };
  } catch {
    return material;
  }
}
