import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { openApiText } from '../shared/api/openApi';

/** `npm run openapi`: writes docs/openapi.json from the zod schemas (a test fails while it is stale). */
const target = path.join(__dirname, '..', '..', 'docs', 'openapi.json');
writeFileSync(target, openApiText());
console.log(`wrote ${path.relative(process.cwd(), target)}`);
