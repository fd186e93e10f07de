import { registerStepFunctions } from '../shared/functionsHost/stepFunction';

// Step 3: the Private Cloud HNS plugin in the container host VM, through Arc Run Command.
registerStepFunctions('installPrivateCloudPlugin');
