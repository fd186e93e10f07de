import { registerHttpFunction } from '../shared/functionsHost/functionApp';
import { getOpenApiDocument } from '../shared/functionsHost/operatorPages';

// Anonymous: the API's description holds no data, and tools read it before they have a key.
registerHttpFunction('getOpenApiDocument', {
  methods: ['GET'],
  route: 'openapi.json',
  authLevel: 'anonymous',
  handler: getOpenApiDocument,
});
