export * from './events/envelope';
export * from './events/payloads';
export * from './events/catalog';
export * from './asyncapi';
export * from './mqtt';
export * from './api';
