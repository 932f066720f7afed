// Downloaded content becomes what runs only through a private copy whose SHA-256 was checked: what
// runs is what was checked, whatever happens to the download (or the directory it is in) afterwards.
import { createHash } from 'node:crypto';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { TargetError } from './errors.js';
import type { VerifiedContent } from './port.js';

/**
 * Copies downloaded content into a fresh private directory and checks the copy's SHA-256. The
 * copy is named by its digest and `suffix` (apt takes a package file only when it ends in .deb).
 */
export function verifiedCopy(content: VerifiedContent, suffix = ''): { file: string; remove(): void } {
  if (!/^[0-9a-f]{64}$/.test(content.sha256)) throw new TargetError('CONTENT_DIGEST_MISMATCH', 'content names no SHA-256 digest');
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-content-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const file = join(dir, `${content.sha256}${suffix}`);
    // Not through a symlink: whoever can write the download directory must not make us read another file.
    const source = openSync(content.file, constants.O_RDONLY | constants.O_NOFOLLOW);
    let bytes: Buffer;
    try {
      bytes = readFileSync(source);
    } finally {
      closeSync(source);
    }
    writeFileSync(file, bytes, { mode: 0o600 });
    const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
    if (digest !== content.sha256) throw new TargetError('CONTENT_DIGEST_MISMATCH', `${basename(content.file)} does not have the SHA-256 ${content.sha256} assigned`);
    return { file, remove };
  } catch (error) {
    remove();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TargetError('ITEM_FAILED', `the downloaded content ${basename(content.file)} is missing`);
    if (code === 'ELOOP') throw new TargetError('CONTENT_DIGEST_MISMATCH', `the downloaded content ${basename(content.file)} is a symlink, not the download`);
    throw error;
  }
}
