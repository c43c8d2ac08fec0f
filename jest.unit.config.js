import base from './jest.base.js';

export default {
  ...base,
  displayName: 'unit',
  testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts', '<rootDir>/test/types/*.spec.ts'],
};
