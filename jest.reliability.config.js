import base from './jest.base.js';

// The reliability suite (test/reliability): scenarios as real processes, one at a time (they load
// the machine on purpose). FLOWBUS_RELIABILITY_PROFILE=short (default, part of `npm test`) or full
// (`npm run test:reliability`). Fixture apps import the built library: run `npm run build` first.
export default {
  ...base,
  displayName: 'reliability',
  testMatch: ['<rootDir>/test/reliability/**/*.reliability-spec.ts'],
  globalSetup: '<rootDir>/test/reliability/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/reliability/support/global-teardown.ts',
  testTimeout: 600_000,
  maxWorkers: 1,
};
