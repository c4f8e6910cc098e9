import { describe, expect, it } from 'vitest';
import { redactLiterals } from '../../src/db/redact-literals.js';

const text = (q: string) => redactLiterals(q).text;

describe('redactLiterals', () => {
  it('replaces string and numeric constants with $n, numbered after the parameters already there', () => {
    expect(redactLiterals("select pg_sleep(0.6), 'ann@example.com' as email, 4155550123 as phone"))
      .toEqual({ text: 'select pg_sleep($1), $2 as email, $3 as phone', redacted: 3 });
    expect(text("select * from t where a = $1 and b = 'x' and c = $2")).toBe('select * from t where a = $1 and b = $3 and c = $2');
    expect(text("alter role r password 'hunter2'")).toBe('alter role r password $1');
    expect(text('select 1.5e-3, .5, 7., 0x1F, 1_000')).toBe('select $1, $2, $3, $4, $5');
  });

  it('knows every string form: doubled quotes, E escapes, prefixes, continuations, dollar quotes', () => {
    expect(text("select 'it''s', E'it\\'s \\\\', B'101', X'1F', N'x', U&'d\\0061t'")).toBe('select $1, $2, $3, $4, $5, $6');
    expect(text("select 'a'\n  'b' as joined")).toBe('select $1 as joined');
    expect(text("select 'a' 'b'")).toBe('select $1 $2'); // not a continuation: PostgreSQL rejects it anyway
    expect(text('do $body$ begin raise notice $$secret$$; end $body$')).toBe('do $1');
    expect(text('select $$x$$ || $q$y$q$')).toBe('select $1 || $2');
  });

  it('leaves identifiers, quoted identifiers, parameters, casts and comments alone', () => {
    const normalised = 'select t1.col_2, "weird ""1"" name", a$b, $1::int4[], x[$2] /* 42 \'c\' */ -- 7\nfrom s1.t1';
    expect(redactLiterals(normalised)).toEqual({ text: normalised, redacted: 0 });
    expect(text('select U&"d\\0061t" from t')).toBe('select U&"d\\0061t" from t');
    expect(text('/* a /* nested */ 5 */ select 5')).toBe('/* a /* nested */ 5 */ select $1');
    expect(text('<insufficient privilege>')).toBe('<insufficient privilege>');
  });

  it('a text cut short inside a constant hides the rest (pg_stat_activity is read with left(query, n))', () => {
    expect(text("update c set email = 'ann@exa")).toBe('update c set email = $1');
    expect(text('select $tag$ never closed')).toBe('select $1');
  });
});
