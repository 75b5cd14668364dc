/**
 * CI installs everything the tests need (.ci/run, with ../shared's models beside the clone). There a test that would skip for want
 * of one of them fails instead, naming what is missing: a skip would let a run that checked nothing pass. Elsewhere (a machine with
 * no WebKit, or no shared models) the test skips with the reason.
 *
 * vitest.config.ts sets the test processes' CI to false (ink draws frame by frame only then), so it hands CI's value on as
 * MURMUR_TEST_IN_CI.
 */
export const inCi = process.env.MURMUR_TEST_IN_CI === '1';

/** `reason` to skip, or, in CI, an error saying the install step missed it. */
export const unlessCi = (reason: string | undefined): string | undefined => {
  if (reason && inCi) throw new Error(`${reason}. CI installs everything the tests need (.ci/run), so this test may not skip there.`);
  return reason;
};
