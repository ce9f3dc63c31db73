import { createLogger } from '@devicesaga/platform';
import { DeadlineTimers } from '../src/commands/deadlines';

const logger = createLogger('adapter-test', 'silent');
const at = (msFromNow: number) => new Date(Date.now() + msFromNow);

describe('deadlines in memory', () => {
  it('arm no timer while nothing is watched, and fire each command once, at the earlier of its deadlines, in one batch', async () => {
    const fired: string[][] = [];
    const timers = new DeadlineTimers((ids) => Promise.resolve(void fired.push(ids)), logger);
    expect(timers.nextWakeAt).toBeUndefined();
    timers.track([
      { commandId: 'a', expiresAt: at(60_000), replyDeadline: at(50) },
      { commandId: 'b', expiresAt: at(60), replyDeadline: null },
      { commandId: 'c', expiresAt: at(60_000), replyDeadline: null },
    ]);
    expect(timers.nextWakeAt).toBeLessThanOrEqual(Date.now() + 50);
    await new Promise((r) => setTimeout(r, 150));
    expect(fired.flat().sort()).toEqual(['a', 'b']);
    expect(timers.size).toBe(1);
    timers.forget(['c']);
    expect(timers.size).toBe(0);
    expect(timers.nextWakeAt).toBeUndefined();
    await timers.stop();
  });

  it('a forgotten command never fires; a moved deadline fires at its new time', async () => {
    const fired: string[] = [];
    const timers = new DeadlineTimers((ids) => Promise.resolve(void fired.push(...ids)), logger);
    timers.track([{ commandId: 'x', expiresAt: at(30), replyDeadline: null }, { commandId: 'y', expiresAt: at(30), replyDeadline: null }]);
    timers.forget(['x']);
    timers.track([{ commandId: 'y', expiresAt: at(120), replyDeadline: null }]);
    await new Promise((r) => setTimeout(r, 80));
    expect(fired).toEqual([]);
    await new Promise((r) => setTimeout(r, 100));
    expect(fired).toEqual(['y']);
    await timers.stop();
  });

  it('hold deadlines already past for the start-up grace, and retry when closing them failed', async () => {
    let calls = 0;
    const timers = new DeadlineTimers(() => {
      calls++;
      return calls === 1 ? Promise.reject(new Error('database away')) : Promise.resolve();
    }, logger);
    timers.holdFor(100);
    timers.track([{ commandId: 'z', expiresAt: at(-5000), replyDeadline: null }]);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toBe(1);
    await new Promise((r) => setTimeout(r, 1100));
    expect(calls).toBe(2);
    await timers.stop();
  });
});
