/** One jest run over every workspace; tests talk to the real infrastructure started by infra/, so they run in band
 * per file group (2 cores). */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testMatch: ['**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/infra/.cache/'],
  transform: {
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
  },
  maxWorkers: 2,
  testTimeout: 60000,
  verbose: true,
};
