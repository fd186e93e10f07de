export { type LocalRunnerOptions, type RunningLocalRunner, startLocalRunner } from './localRunner';
export { applyLocalSettings, type LocalSettings } from './localSettings';
