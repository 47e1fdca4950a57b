/**
 * What a test does when it cannot run here (no root, a Debian package missing). On a developer's
 * machine it skips and says why. In CI (`GREDGE_TEST_STRICT=1`, set by `.ci/run`, which runs as
 * root after installing every package the suite needs) nothing may skip: the same reason becomes
 * a failing assertion, so a runner that silently lost root or a package cannot stay green.
 */
import type { Test } from 'tap';

export const STRICT = process.env.GREDGE_TEST_STRICT === '1';

function failure(why: string): string {
  return `CI must run this test, but it cannot run here: ${why}`;
}

/**
 * For a whole file (or test) that cannot run: a skip with the reason, or in CI a failure.
 * Call it instead of the test body.
 */
export function cannotRun(t: Test, why: string): void {
  if (STRICT) {
    t.fail(failure(why));
  } else {
    t.plan(0, `skipped: ${why}`);
  }
}

/**
 * For a subtest's `skip` option: `false` when it can run; otherwise the reason (the subtest is
 * skipped), and in CI a failure is recorded on `t` first.
 */
export function skipUnless(t: Test, why: string | false | undefined): string | false {
  if (!why) return false;
  if (STRICT) t.fail(failure(why));
  return why;
}
