import { z } from 'zod';

/** Prefix of the one machine-readable line each product script prints last. */
export const RESULT_SENTINEL = 'SDNATTACH-RESULT';

const scriptErrorSchema = z.object({ code: z.string(), message: z.string(), permanent: z.boolean() });

const resultLineSchema = z.looseObject({
  script: z.string(),
  version: z.int(),
  ok: z.boolean(),
  changed: z.boolean(),
  error: scriptErrorSchema.optional(),
});

/** The parsed result line: the fixed fields plus whatever else the script reported. */
export type ScriptResult = z.infer<typeof resultLineSchema>;
export type ScriptErrorReport = z.infer<typeof scriptErrorSchema>;

/**
 * Finds the LAST sentinel line in a run's output and parses it. Run Command keeps only the tail of the output
 * (4,096 bytes), so the first line may be cut; an earlier sentinel line is never used in place of a broken last one,
 * because it could describe an older run. Returns undefined when there is no well-formed last result line.
 */
export function parseResultLine(output: string | undefined): ScriptResult | undefined {
  if (!output) return undefined;
  const lines = output.split(/\r?\n/);
  for (let index = lines.length - 1; index >= 0; index--) {
    const line = (lines[index] ?? '').trim();
    if (!line.startsWith(`${RESULT_SENTINEL} `)) continue;
    let json: unknown;
    try {
      json = JSON.parse(line.slice(RESULT_SENTINEL.length + 1));
    } catch {
      return undefined;
    }
    const parsed = resultLineSchema.safeParse(json);
    return parsed.success ? parsed.data : undefined;
  }
  return undefined;
}
