/** One parameter declared in a script's `param(...)` block. */
export interface DeclaredParameter {
  name: string;
  mandatory: boolean;
  /** The `[ValidatePattern]` source, as written. */
  patternSource?: string;
  pattern?: RegExp;
}

export type BindResult = { ok: true; values: Record<string, string> } | { ok: false; message: string };

const PARAMETER_ATTRIBUTE = /^\s*\[Parameter\((.*)\)\]\s*$/i;
const VALIDATE_PATTERN = /^\s*\[ValidatePattern\('((?:[^']|'')*)'(?:\s*,\s*Options\s*=\s*'([^']*)')?\)\]\s*$/i;
const DECLARATION = /^\s*\[(string|int)\]\s*\$(\w+)\s*,?\s*$/i;

/**
 * Reads the `param(...)` block of a product script, written one attribute or declaration per line, so the emulator
 * enforces the very patterns the script carries. `[ValidatePattern]` ignores case unless `Options` says otherwise.
 */
export function parseParamBlock(scriptText: string): DeclaredParameter[] {
  const lines = scriptText.split(/\r?\n/);
  const start = lines.findIndex((line) => /^\s*param\s*\(/i.test(line));
  if (start < 0 || /^\s*param\s*\(\s*\)\s*$/i.test(lines[start] ?? '')) return [];
  const declared: DeclaredParameter[] = [];
  let pending: Omit<DeclaredParameter, 'name'> = { mandatory: false };
  for (const line of lines.slice(start + 1)) {
    if (/^\s*\)\s*$/.test(line)) break;
    const attribute = PARAMETER_ATTRIBUTE.exec(line);
    const validate = VALIDATE_PATTERN.exec(line);
    const declaration = DECLARATION.exec(line);
    if (attribute) {
      pending.mandatory = /Mandatory\s*=\s*\$true/i.test(attribute[1] ?? '');
    } else if (validate) {
      const source = (validate[1] ?? '').replace(/''/g, "'");
      const ignoreCase = validate[2] === undefined || /IgnoreCase/i.test(validate[2]);
      pending.patternSource = source;
      pending.pattern = new RegExp(source, ignoreCase ? 'i' : '');
    } else if (declaration) {
      declared.push({ name: declaration[2] ?? '', ...pending });
      pending = { mandatory: false };
    }
  }
  return declared;
}

/** Binds run-command parameters (`-Name value`) the way PowerShell would, with PowerShell's own messages. */
export function bindParameters(
  declared: readonly DeclaredParameter[],
  supplied: readonly { name: string; value: string }[],
): BindResult {
  const values: Record<string, string> = {};
  for (const { name, value } of supplied) {
    const parameter = declared.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
    if (!parameter) return { ok: false, message: `A parameter cannot be found that matches parameter name '${name}'.` };
    if (parameter.name in values) {
      return {
        ok: false,
        message: `Cannot bind parameter because parameter '${parameter.name}' is specified more than once.`,
      };
    }
    if (parameter.pattern && !parameter.pattern.test(value)) {
      const source = parameter.patternSource ?? '';
      return {
        ok: false,
        message:
          `Cannot validate argument on parameter '${parameter.name}'. The argument "${value}" does not match the ` +
          `"${source}" pattern. Supply an argument that matches "${source}" and try the command again.`,
      };
    }
    values[parameter.name] = value;
  }
  const missing = declared.filter((parameter) => parameter.mandatory && !(parameter.name in values));
  if (missing.length > 0) {
    const names = missing.map((parameter) => parameter.name).join(', ');
    return {
      ok: false,
      message: `Cannot process command because of one or more missing mandatory parameters: ${names}.`,
    };
  }
  return { ok: true, values };
}
