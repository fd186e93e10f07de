import { registerStepFunctions } from '../shared/functionsHost/stepFunction';

// Step 4: the container network in the container host VM, through Arc Run Command.
registerStepFunctions('createContainerNetwork');
