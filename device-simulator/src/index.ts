export { SimulatedDevice, type DeviceOptions } from './device';
export { Farm, type FarmOptions } from './farm';
export { DeviceState, profiles, profileByName, hardwareRefusal, type Profile, type ParameterSpec, type CommandDecision } from './profile';
export { topics, parseCommand, type CommandMessage, type ReplyMessage, type TelemetryMessage } from './protocol';
export type { Stats } from './mqtt';
