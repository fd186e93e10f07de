import { registerStepFunctions } from '../shared/functionsHost/stepFunction';

// Detach: the container network on the container host VM, removed unless another attachment uses it.
registerStepFunctions('removeContainerNetwork');
