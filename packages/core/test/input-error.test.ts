import { describe, expect, it } from 'vitest';
import { closest, ExitCode, InputError, isQiaoError, SchemeError } from '../src/index.js';

describe('InputError', () => {
  it('is the error of every bad input, and keeps its former name SchemeError as an alias', () => {
    const e = new InputError([{ file: 'sync.yaml', pointer: '/source/stream', expected: 'a stream of connector okki (company)', found: '"compnay"', hint: 'did you mean company?' }]);
    expect(isQiaoError(e)).toBe(true);
    expect(e.name).toBe('InputError');
    // the code scripts and run reports match on, and the CLI maps to exit 2, is unchanged
    expect(e.code).toBe('QIAO_SCHEME');
    expect(e.reason).toBe('scheme.invalid');
    expect(e.message).toBe('1 problem:\n  sync.yaml at /source/stream: expected a stream of connector okki (company), found "compnay"\n    hint: did you mean company?');
    expect(ExitCode.invalidInput).toBe(2);
    // old imports keep working, as a value (instanceof, new) and as a type
    expect(SchemeError).toBe(InputError);
    expect(e).toBeInstanceOf(SchemeError);
    const old: SchemeError = new SchemeError('expected --all or --id', { system: 'flags' });
    expect(old).toBeInstanceOf(InputError);
    expect(old.problems).toEqual([{ file: 'flags', pointer: '', expected: 'expected --all or --id' }]);
  });
});

describe('closest ("did you mean")', () => {
  it('suggests the known name within two edits, ignoring case, and nothing further away', () => {
    expect(closest('memroy', ['memory'])).toBe('memory');
    expect(closest('okkii', ['okki', 'yonbip'])).toBe('okki');
    expect(closest('webiste', ['code', 'name', 'website', 'webhook'])).toBe('website');
    expect(closest('YonBIP', ['okki', 'yonbip'])).toBe('yonbip');
    expect(closest('bip', ['okki', 'yonbip'])).toBeUndefined(); // three edits
    expect(closest('x', [])).toBeUndefined();
    // of two as close, the first known
    expect(closest('ab', ['aa', 'bb'])).toBe('aa');
    // the nearest wins over an earlier, farther one
    expect(closest('compny', ['campany', 'company'])).toBe('company');
  });
});
