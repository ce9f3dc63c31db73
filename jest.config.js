/**
 * Two jest projects: `unit` (each workspace's tests, against the real PostgreSQL, Redis, Kafka and Mosquitto that
 * infra/ starts, each service in-process) and `e2e` (the whole stack running as separate processes, driven through
 * the gateway and MQTT like a user and a device would). scripts/test-all.ts runs them in that order.
 */
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: false },
        target: 'es2023',
      },
      module: { type: 'commonjs', ignoreDynamic: true },
    },
  ],
};

const common = { testEnvironment: 'node', transform };

/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: 2,
  testTimeout: 90000,
  verbose: true,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/**/test/**/*.test.ts'], testPathIgnorePatterns: ['/node_modules/', '/infra/.cache/', '<rootDir>/e2e/'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/e2e/**/*.test.ts'] },
  ],
};
