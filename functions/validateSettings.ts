import { getConfig } from '../shared/config';

// Not a function: loaded with them (package.json `main`), so a bad or unsafe setting stops the app at start-up with
// every problem listed at once, instead of failing each invocation later.
getConfig();
