import base from './jest.base.js';

// One PostgreSQL per run (embedded unless DATABASE_URL is set), one database per spec file.
export default {
  ...base,
  displayName: 'e2e',
  testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
