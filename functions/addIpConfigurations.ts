import { registerStepFunctions } from '../shared/functionsHost/stepFunction';

// Step 1: the containers' IP configurations on the tenant VM's NIC, through the Network Controller.
registerStepFunctions('addIpConfigurations');
