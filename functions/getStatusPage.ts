import { registerHttpFunction } from '../shared/functionsHost/functionApp';
import { getStatusPage } from '../shared/functionsHost/operatorPages';

// Anonymous: the page holds no data; its script calls the API with the key or token its user types in.
registerHttpFunction('getStatusPage', {
  methods: ['GET'],
  route: 'ui',
  authLevel: 'anonymous',
  handler: getStatusPage,
});
