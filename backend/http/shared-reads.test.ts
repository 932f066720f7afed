import { describe, expect, it } from 'vitest';

import { SharedReads } from './shared-reads.js';

describe('shared reads', () => {
  it('reuses a read for the same key within the period, and reads again after it', async () => {
    let clock = 0;
    const reads = new SharedReads(1000, () => clock);
    let loads = 0;
    const load = () => Promise.resolve(++loads);
    expect(await reads.read('bench:all', load)).toBe(1);
    clock = 999;
    expect(await reads.read('bench:all', load)).toBe(1);
    expect(await reads.read('device:1', load)).toBe(2); // another key: its own read
    clock = 1000;
    expect(await reads.read('bench:all', load)).toBe(3);
  });

  it('does not keep a failed read, and forgets reads too old to reuse', async () => {
    let clock = 0;
    const reads = new SharedReads(1000, () => clock);
    await expect(reads.read('k', () => Promise.reject(new Error('database away')))).rejects.toThrow('database away');
    await Promise.resolve();
    expect(await reads.read('k', () => Promise.resolve('back'))).toBe('back');
    for (let i = 0; i < 10; i++) await reads.read(`stream-${i}`, () => Promise.resolve(i));
    expect(reads.size).toBe(11);
    clock = 5000;
    await reads.read('k', () => Promise.resolve('later'));
    expect(reads.size).toBe(1);
  });
});
