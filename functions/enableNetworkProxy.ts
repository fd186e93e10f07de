import { registerStepFunctions } from '../shared/functionsHost/stepFunction';

// Step 2: the network proxy on the Hyper-V host, through Arc Run Command.
registerStepFunctions('enableNetworkProxy');
