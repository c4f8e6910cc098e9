import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/roles/durations.js';
import { BookingDbError } from '../../src/errors.js';

describe('parseDuration (role timeouts)', () => {
  it('takes a whole number and a unit, or 0', () => {
    expect(parseDuration('--x', '5s')).toEqual({ ms: 5000, text: '5s' });
    expect(parseDuration('--x', '500ms')).toEqual({ ms: 500, text: '500ms' });
    expect(parseDuration('--x', '2min')).toEqual({ ms: 120_000, text: '2min' });
    expect(parseDuration('--x', '24h')).toEqual({ ms: 86_400_000, text: '24h' });
    expect(parseDuration('--x', '0')).toEqual({ ms: 0, text: '0' });
    expect(parseDuration('--x', '0ms')).toEqual({ ms: 0, text: '0' });
  });

  it('refuses bare numbers, junk and out-of-range values with exit 2 naming the source', () => {
    for (const junk of ['5', '', ' 5s', '5s ', '5 s', '1e3ms', '0x10s', '-1s', '05s', '1.5s', '5sec', '25h', '1441min', "5s'; drop"]) {
      let caught: unknown;
      try {
        parseDuration('--statement-timeout', junk);
      } catch (error) {
        caught = error;
      }
      expect(caught, junk).toBeInstanceOf(BookingDbError);
      expect((caught as BookingDbError).exitCode).toBe(2);
      expect((caught as BookingDbError).message).toContain('--statement-timeout');
    }
  });
});
