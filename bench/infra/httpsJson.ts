import { request } from 'node:https';

export interface JsonResponse {
  status: number;
  body: unknown;
}

/**
 * A JSON request to one of the emulators' HTTPS control routes, trusting the bench's own CA. Node's fetch cannot
 * be given a CA per request, hence node:https.
 */
export function httpsJson(url: string, method: string, caCertPem: string, body?: unknown): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        ca: caCertPem,
        headers:
          data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : (JSON.parse(text) as unknown) });
          } catch (error) {
            reject(new Error(`${method} ${url}: answer is not JSON (${(error as Error).message})`));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** Like httpsJson, but a non-2xx answer is an error: control routes that fail would make the numbers meaningless. */
export async function httpsJsonOk(url: string, method: string, caCertPem: string, body?: unknown): Promise<unknown> {
  const response = await httpsJson(url, method, caCertPem, body);
  if (response.status < 200 || response.status > 299) {
    throw new Error(`${method} ${url} answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
  return response.body;
}
