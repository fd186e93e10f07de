import { registerStepFunctions } from '../shared/functionsHost/stepFunction';

// Detach: the attachment's IP configurations off the VM NIC, through the Network Controller.
registerStepFunctions('removeIpConfigurations');
