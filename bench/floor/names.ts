/** The floor's function names and route, shared by its entry module (in the runner) and the bench (which drives it). */
export const BARE_SUBMIT_FUNCTION = 'benchBareSubmit';
export const BARE_STEP_FUNCTION = 'benchBareStep';
/** Served at `/api/bench/bare/{id}`. */
export const BARE_ROUTE = 'bench/bare/{id}';
