import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'src/**/*.test.ts',
      'test/**/*.test.ts',
      'examples/**/*.test.ts',
      'bench/**/*.test.ts',
      'dashboard/src/**/*.test.ts',
    ],
    testTimeout: 60_000,
    globalSetup: ['test/global-setup.ts'],
  },
});
