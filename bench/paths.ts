import { resolve } from 'node:path';

/** The repository root: this file runs as dist/bench/paths.js. */
export const APP_ROOT = resolve(__dirname, '..', '..');

/** Where `npm run bench` writes its results (git-ignored). */
export const RESULTS_DIR = resolve(APP_ROOT, 'bench-results');
