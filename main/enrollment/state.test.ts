// The agent's enrollment state: private to the agent, replaced whole, and refused when damaged.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { isErrorCode } from '../../protocol/errors/catalogue.js';
import { EnrollmentStateError, EnrollmentStore, blobFromState, blobToState } from './state.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-state-test-'));
  dirs.push(dir);
  return join(dir, 'state');
};

describe('EnrollmentStore', () => {
  it('has nothing before the first save, then gives back exactly what was saved', () => {
    const store = new EnrollmentStore(fresh());
    expect(store.load()).toBeUndefined();
    const blob = { public: Uint8Array.of(0, 2, 1, 2), private: Uint8Array.of(0, 1, 9), name: Uint8Array.of(0, 11, 5), parentName: Uint8Array.of(0, 11, 6) };
    store.save({ version: 1, server: 'https://deploy.example', ekKind: 'ecc-p384', ak: blobToState(blob), deviceId: 'd1' });
    const loaded = store.load()!;
    expect(loaded).toMatchObject({ server: 'https://deploy.example', ekKind: 'ecc-p384', deviceId: 'd1' });
    expect(blobFromState(loaded.ak!)).toEqual(blob);
  });

  it('writes a file only the agent can read, in a directory only it can enter, leaving no temporary file', () => {
    const dir = fresh();
    new EnrollmentStore(dir).save({ version: 1, server: 'https://x', ekKind: 'rsa-2048' });
    expect(statSync(dir).mode & 0o077).toBe(0);
    expect(statSync(join(dir, 'enrollment.json')).mode & 0o077).toBe(0);
    expect(readdirSync(dir)).toEqual(['enrollment.json']);
  });

  it('refuses a damaged or foreign file with a catalogued code instead of enrolling over it', () => {
    const dir = fresh();
    const store = new EnrollmentStore(dir);
    store.save({ version: 1, server: 'https://x', ekKind: 'rsa-2048' });
    for (const content of ['{"version":1,"server":', '{"version":2}', '[]']) {
      writeFileSync(join(dir, 'enrollment.json'), content);
      expect(() => store.load()).toThrow(EnrollmentStateError);
    }
    expect(isErrorCode(new EnrollmentStateError('x').code)).toBe(true);
  });
});
