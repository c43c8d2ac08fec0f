// Shared Jest settings: ESM mode (NestJS 12 is ESM-only), TypeScript compiled by SWC with legacy
// decorators and decorator metadata, `./x.js` imports mapped back to their `.ts` sources.
export default {
  rootDir: '.',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
          target: 'es2022',
          keepClassNames: true,
        },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleNameMapper: {
    '^nestjs-flowbus$': '<rootDir>/libs/flowbus/src/index.ts',
    '^nestjs-flowbus/testing$': '<rootDir>/libs/flowbus/src/testing/index.ts',
    '^nestjs-flowbus/admin$': '<rootDir>/libs/flowbus/src/admin/index.ts',
    '^nestjs-flowbus/health$': '<rootDir>/libs/flowbus/src/health/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  modulePathIgnorePatterns: ['<rootDir>/libs/flowbus/dist', '<rootDir>/apps/demo/dist'],
};
