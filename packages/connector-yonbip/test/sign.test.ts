import { describe, expect, it } from 'vitest';
import { sign, signedTokenQuery } from '../src/index.js';

describe('sign', () => {
  it('reproduces the public test vector before encoding', () => {
    expect(sign({ appKey: 'test', timestamp: '1789123783390' }, 'test')).toBe('y5DMe+UkjSqbPVWsMvGUjfeX6gfCbXnvP0tAU1ZI0jw=');
  });

  it('URL-encodes the signature exactly once on the wire', () => {
    const query = signedTokenQuery('test', 'test', 1789123783390);
    expect(query).toBe('appKey=test&timestamp=1789123783390&signature=y5DMe%2BUkjSqbPVWsMvGUjfeX6gfCbXnvP0tAU1ZI0jw%3D');
    expect(query).not.toContain('%252B');
  });

  it('sorts parameters by name and ignores signature', () => {
    const a = sign({ timestamp: '1789123783390', appKey: 'test', signature: 'x' }, 'test');
    expect(a).toBe('y5DMe+UkjSqbPVWsMvGUjfeX6gfCbXnvP0tAU1ZI0jw=');
    expect(sign({ appKey: 'test', timestamp: '1789123783391' }, 'test')).not.toBe(a);
    expect(sign({ appKey: 'test', timestamp: '1789123783390' }, 'other')).not.toBe(a);
  });
});
