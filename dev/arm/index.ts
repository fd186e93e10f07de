export { ARM_SEED } from './seed';
export type { MachineSnapshot } from './SimulatedWindowsMachine';
export {
  type ArmEmulatorOptions,
  DEFAULT_ARM_EMULATOR_PORT,
  type RunningArmEmulator,
  startArmEmulator,
} from './startArmEmulator';
