/**
 * How much a session may queue in gredged before its sink says "full" (counters.ts): 4 MiB
 * while few sessions share the budget (one full-table feed keeps its pace), about 64 KiB each
 * when a thousand customers are sent tables at once, so that the total stays near SEND_BUDGET.
 */
import t from 'tap';
import {
  SEND_BUDGET,
  SEND_HIGH_WATER,
  SEND_LOW_WATER,
  sendHighWater,
} from '../../../src/bgp/session/counters.js';

t.test('a shared budget, bounded both ways', async (t) => {
  t.equal(sendHighWater(0), SEND_HIGH_WATER, 'no session yet: the most');
  t.equal(sendHighWater(1), SEND_HIGH_WATER, 'one session: 4 MiB');
  t.equal(sendHighWater(16), SEND_HIGH_WATER, '16 sessions: 4 MiB each, the whole budget');
  t.equal(sendHighWater(32), SEND_BUDGET / 32, '32: the budget shared');
  t.equal(sendHighWater(1000), Math.floor(SEND_BUDGET / 1000), '1,000: about 64 KiB each');
  t.equal(sendHighWater(10000), SEND_LOW_WATER, '10,000: 64 KiB each, the floor');
  let total = 0;
  for (const n of [1, 10, 100, 1000, 10000]) {
    total = n * sendHighWater(n);
    t.ok(
      total <= Math.max(SEND_BUDGET, n * SEND_LOW_WATER),
      `${n} sessions may queue ${(total / 2 ** 20).toFixed(1)} MiB in all`,
    );
  }
});
