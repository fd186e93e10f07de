/**
 * The CLI's one reader of `process.env`: secrets are better kept out of the shell's history and the process list
 * than passed as options, so the function key and the bearer token may come from here. The CLI is a separate program
 * from the app, so it does not go through shared/config.ts.
 */
export interface CliEnvironment {
  /** `SDN_ATTACH_API`: the API's base URL, when `--api` is not given. */
  apiUrl?: string;
  /** `SDN_ATTACH_KEY`: the Functions key, sent as `x-functions-key`. */
  functionKey?: string;
  /** `SDN_ATTACH_TOKEN`: an Entra ID access token for App Service Authentication, sent as `Authorization: Bearer`. */
  bearerToken?: string;
}

export const ENVIRONMENT_NAMES = {
  apiUrl: 'SDN_ATTACH_API',
  functionKey: 'SDN_ATTACH_KEY',
  bearerToken: 'SDN_ATTACH_TOKEN',
} as const satisfies Record<keyof CliEnvironment, string>;

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  const value = (name: string) => {
    const text = env[name]?.trim();
    return text ? text : undefined;
  };
  return {
    apiUrl: value(ENVIRONMENT_NAMES.apiUrl),
    functionKey: value(ENVIRONMENT_NAMES.functionKey),
    bearerToken: value(ENVIRONMENT_NAMES.bearerToken),
  };
}
