import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    globalSetup: ['test/global-setup.ts'],
    // Native engines (node-llama-cpp, sherpa-onnx) are safest in child processes, not worker threads.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Liveness waits (a stream's abort reaching the engine, a frame drawn) get
    // room for a loaded 2-core CI machine; nothing here asserts a speed.
    expect: { poll: { timeout: 20_000 } },
    // ink draws only the final frame when it sees CI set (is-in-ci); the chat
    // UI tests drive it frame by frame, so the test processes unset it.
    // Whether the run is CI's is handed on as MURMUR_TEST_IN_CI: there nothing may skip for want of something .ci/run installs (test/helpers/ci.ts).
    env: { CI: 'false', MURMUR_TEST_IN_CI: process.env.CI && process.env.CI !== 'false' ? '1' : '0' },
  },
});
