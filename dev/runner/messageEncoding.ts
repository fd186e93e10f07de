import type { QueueSettings } from './hostConfig';

export type MessageEncoding = QueueSettings['messageEncoding'];

// .NET's Convert.FromBase64String, which the host's queue client uses: whitespace is ignored, everything else must be
// strict base64 with correct padding. Node's Buffer.from(text, 'base64') would silently skip bad characters instead.
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The text the trigger sees, or undefined when the host would report "Message decoding has failed!". */
export function decodeMessageText(raw: string, encoding: MessageEncoding): string | undefined {
  if (encoding === 'none') return raw;
  const compact = raw.replace(/[ \t\r\n]/g, '');
  if (!STRICT_BASE64.test(compact)) return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}

export function encodeMessageBody(body: string | Uint8Array, encoding: MessageEncoding): string {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  return encoding === 'base64' ? bytes.toString('base64') : bytes.toString('utf8');
}

/** The library hands the trigger payload through JSON.parse when it can (42 → number, `{..}` → object). */
export function parseLikeLibrary(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function bytesOf(value: unknown): Uint8Array | undefined {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

function messageBodyOf(value: unknown): string | Uint8Array {
  if (typeof value === 'string') return value;
  return bytesOf(value) ?? JSON.stringify(value);
}

/**
 * What a queue output value becomes on the queue: nothing for null/undefined, one message per element for an array,
 * strings as they are, bytes as bytes, anything else as JSON (the library sends it as `json` typed data).
 */
export function queueMessageBodies(value: unknown): Array<string | Uint8Array> {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) {
    return value.filter((item) => item !== undefined && item !== null).map((item: unknown) => messageBodyOf(item));
  }
  return [messageBodyOf(value)];
}
