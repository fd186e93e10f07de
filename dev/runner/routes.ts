/**
 * ASP.NET-style route templates as the Functions host reads them: `tenants/{tenantId}/attachments/{id?}`,
 * `items/{n:int}`, `files/{name}.{ext}`, `{*rest}`, `{x=default}`. Literals match case-insensitively.
 */
export interface CompiledRoute {
  template: string;
  /** Parameter values (URL-decoded) when the path (without query) matches, else undefined. */
  match(pathname: string): Record<string, string> | undefined;
  /** Lower sorts first: literal segments beat constrained parameters, which beat plain, optional and catch-all ones. */
  precedence: number[];
}

interface Parameter {
  name: string;
  optional: boolean;
  catchAll: boolean;
  defaultValue: string | undefined;
  constraints: Constraint[];
}

type Constraint = (value: string) => boolean;

const SegmentRank = { Literal: 1, Mixed: 2, Constrained: 3, Plain: 4, Optional: 5, CatchAll: 6 } as const;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function splitOutsideParentheses(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === separator && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function numberArgs(args: string): number[] {
  return args.split(',').map((arg) => Number(arg.trim()));
}

const INTEGER = /^-?\d+$/;

function constraintFrom(spec: string): Constraint | undefined {
  const match = /^(\w+)(?:\((.*)\))?$/s.exec(spec);
  if (!match) return undefined;
  const [, name = '', args = ''] = match;
  const [first = NaN, second = NaN] = numberArgs(args);
  switch (name.toLowerCase()) {
    case 'int':
      return (v) => INTEGER.test(v) && Math.abs(Number(v)) <= 2 ** 31;
    case 'long':
      return (v) => INTEGER.test(v);
    case 'float':
    case 'double':
    case 'decimal':
      return (v) => v.trim() !== '' && Number.isFinite(Number(v));
    case 'bool':
      return (v) => /^(true|false)$/i.test(v);
    case 'guid':
      return (v) => /^[{(]?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}[)}]?$/i.test(v);
    case 'datetime':
      return (v) => !Number.isNaN(Date.parse(v));
    case 'alpha':
      return (v) => /^[a-z]+$/i.test(v);
    case 'minlength':
      return (v) => v.length >= first;
    case 'maxlength':
      return (v) => v.length <= first;
    case 'length':
      return Number.isNaN(second) ? (v) => v.length === first : (v) => v.length >= first && v.length <= second;
    case 'min':
      return (v) => INTEGER.test(v) && Number(v) >= first;
    case 'max':
      return (v) => INTEGER.test(v) && Number(v) <= first;
    case 'range':
      return (v) => INTEGER.test(v) && Number(v) >= first && Number(v) <= second;
    case 'regex': {
      // ASP.NET matches route regex constraints case-insensitively.
      const expression = new RegExp(args, 'i');
      return (v) => expression.test(v);
    }
    default:
      return undefined;
  }
}

function parseParameter(body: string, template: string): Parameter {
  let text = body.trim();
  const catchAll = text.startsWith('*');
  text = text.replace(/^\*{1,2}/, '');
  let optional = text.endsWith('?');
  if (optional) text = text.slice(0, -1);
  let defaultValue: string | undefined;
  const equals = text.indexOf('=');
  if (equals !== -1) {
    defaultValue = text.slice(equals + 1);
    text = text.slice(0, equals);
    optional = true;
  }
  const [name = '', ...specs] = splitOutsideParentheses(text, ':');
  if (!/^\w+$/.test(name)) throw new Error(`Route "${template}": "{${body}}" is not a valid parameter.`);
  const constraints = specs.map((spec) => {
    const constraint = constraintFrom(spec);
    if (!constraint) throw new Error(`Route "${template}": constraint "${spec}" is not supported by the local runner.`);
    return constraint;
  });
  return { name, optional: optional || catchAll, catchAll, defaultValue, constraints };
}

/** Splits one path segment into literal text and `{parameter}` parts. */
function tokenize(segment: string, template: string): Array<string | Parameter> {
  const tokens: Array<string | Parameter> = [];
  let rest = segment;
  while (rest !== '') {
    const open = rest.indexOf('{');
    if (open === -1) {
      tokens.push(rest);
      break;
    }
    const close = rest.indexOf('}', open);
    if (close === -1) throw new Error(`Route "${template}": unbalanced "{" in "${segment}".`);
    if (open > 0) tokens.push(rest.slice(0, open));
    tokens.push(parseParameter(rest.slice(open + 1, close), template));
    rest = rest.slice(close + 1);
  }
  return tokens;
}

export function compileRoute(template: string, routePrefix: string): CompiledRoute {
  const parameters: Parameter[] = [];
  const precedence: number[] = [];
  let pattern = routePrefix ? `/${escapeRegExp(routePrefix)}` : '';

  for (const segment of template.split('/').filter((s) => s !== '')) {
    const tokens = tokenize(segment, template);
    const [only] = tokens;
    if (tokens.length === 1 && typeof only === 'object') {
      parameters.push(only);
      if (only.catchAll) {
        pattern += '(?:/(.*))?';
        precedence.push(SegmentRank.CatchAll);
      } else {
        pattern += only.optional ? '(?:/([^/]+))?' : '/([^/]+)';
        const rank = only.constraints.length > 0 ? SegmentRank.Constrained : SegmentRank.Plain;
        precedence.push(only.optional ? SegmentRank.Optional : rank);
      }
      continue;
    }
    pattern += '/';
    for (const token of tokens) {
      if (typeof token === 'string') {
        pattern += escapeRegExp(token);
      } else {
        parameters.push(token);
        pattern += '([^/]+?)';
      }
    }
    precedence.push(tokens.length === 1 ? SegmentRank.Literal : SegmentRank.Mixed);
  }
  const expression = new RegExp(`^${pattern}/?$`, 'i');

  return {
    template,
    precedence,
    match(pathname) {
      const match = expression.exec(pathname);
      if (!match) return undefined;
      const values: Record<string, string> = {};
      for (const [index, parameter] of parameters.entries()) {
        const raw = match[index + 1];
        if (raw === undefined || raw === '') {
          if (parameter.defaultValue !== undefined) values[parameter.name] = parameter.defaultValue;
          continue;
        }
        let value: string;
        try {
          value = decodeURIComponent(raw);
        } catch {
          return undefined;
        }
        if (!parameter.constraints.every((constraint) => constraint(value))) return undefined;
        values[parameter.name] = value;
      }
      return values;
    },
  };
}

export function comparePrecedence(a: CompiledRoute, b: CompiledRoute): number {
  const length = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < length; i++) {
    // A route that ends earlier is more specific than one continuing with more segments.
    const difference = (a.precedence[i] ?? 0) - (b.precedence[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
