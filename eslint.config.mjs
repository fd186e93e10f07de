import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

/**
 * The layers of shared/, lowest first. A file may import its own layer and the ones below it, never one above; the
 * clients (networkController, arc, state, http) do not import one another, except http, which all may use.
 */
const LAYERS = [
  { name: 'ground', files: ['shared/errors.ts', 'shared/ids.ts'] },
  { name: 'model', folders: ['model'] },
  { name: 'http', folders: ['http'] },
  { name: 'clients', folders: ['networkController', 'arc', 'state', 'keyVault'], apart: true },
  { name: 'workflow', folders: ['workflow'] },
  { name: 'api', folders: ['api'] },
  { name: 'config', files: ['shared/config.ts'] },
  { name: 'functionsHost', folders: ['functionsHost'] },
];
const folderPattern = (folder) => ({
  regex: `(^|/)${folder}/`,
  message: `Imports point down the layers of shared/ (model <- clients <- workflow <- api <- functionsHost); ${folder}/ is not below this file.`,
});
const CONFIG_PATTERN = {
  regex: '(^|/)config$',
  message: 'Only the Functions glue reads the configuration; take settings as arguments.',
};
// Step logic stays pure: no I/O libraries, so it can be tested table-driven and replayed safely.
const PURE_PATTERN = {
  group: ['axios', '@azure/*', 'node:*', 'fs', 'http', 'https', 'net'],
  message: 'Step logic is pure; take clients as arguments.',
};

function layerRules() {
  const outside = ['dev', 'bench', 'test', 'functions'].map(folderPattern);
  return LAYERS.map((layer, index) => {
    const above = LAYERS.slice(index + 1);
    const forbidden = above.flatMap((l) => l.folders ?? []).map(folderPattern);
    if (above.some((l) => l.name === 'config')) forbidden.push(CONFIG_PATTERN);
    const config = {
      files: layer.files ?? layer.folders.map((folder) => `shared/${folder}/**/*.ts`),
      rules: {},
    };
    const patterns = [...forbidden, ...outside];
    if (layer.name === 'workflow') patterns.push(PURE_PATTERN);
    if (layer.apart) {
      // One config per client folder, so each may not import its siblings.
      return layer.folders.map((folder) => ({
        files: [`shared/${folder}/**/*.ts`],
        rules: {
          'no-restricted-imports': [
            'error',
            { patterns: [...patterns, ...layer.folders.filter((f) => f !== folder).map(folderPattern)] },
          ],
        },
      }));
    }
    config.rules['no-restricted-imports'] = ['error', { patterns }];
    return [config];
  }).flat();
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.azurite/**', 'coverage/**', 'bench-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.mjs', '*.mts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',
    },
  },
  {
    // Only the config module reads the environment (one validated, frozen object).
    files: ['functions/**/*.ts', 'shared/**/*.ts'],
    ignores: ['shared/config.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read settings through shared/config.ts.' },
      ],
      'no-console': 'error',
    },
  },
  // Imports point one way, down the layers (model <- clients <- workflow <- api <- functionsHost <- functions/).
  ...layerRules(),
  {
    // The CLI is a client of the HTTP API: it may reuse the request schemas (shared/model), shared/errors and the pure
    // retry policy (shared/http), never the app itself (the clients, workflow, api, config, functionsHost).
    files: ['cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)shared/(?!model/|errors$|http/retryPolicy$|http/sleep$)',
              message:
                'The CLI talks to the app only over HTTP; it may import shared/model, shared/errors and the retry policy.',
            },
            ...['dev', 'bench', 'test', 'functions'].map(folderPattern),
          ],
        },
      ],
    },
  },
  {
    // The CLI's environment (SDN_ATTACH_KEY and the like) is read in one place.
    files: ['cli/**/*.ts'],
    ignores: ['cli/environment.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read the environment through cli/environment.ts.' },
      ],
    },
  },
  { files: ['**/*.mjs', '**/*.mts'], ...tseslint.configs.disableTypeChecked },
  {
    // The status page's script runs in the browser as it is (no build step): plain JavaScript, browser globals.
    files: ['shared/api/statusPage/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: Object.fromEntries(
        ['window', 'document', 'sessionStorage', 'fetch', 'Node', 'setTimeout', 'clearTimeout'].map((name) => [
          name,
          'readonly',
        ]),
      ),
    },
  },
  prettier,
);
