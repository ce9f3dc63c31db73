export * from './events/envelope';
export * from './events/payloads';
export * from './events/catalog';
