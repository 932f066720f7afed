// Files a person names on a command line: read with an error that says which file and why
// (INPUT_FILE_UNREADABLE), and checked for what they must hold (INPUT_FILE_INVALID) — never a usage
// error, and never mistaken for something else further on (a CA that is not a certificate is not
// "an unreachable service").
import { closeSync, fstatSync, openSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { CodedError } from '../errors/report.js';

export class InputFileError extends Error implements CodedError {
  override name = 'InputFileError';

  constructor(
    readonly code: 'INPUT_FILE_UNREADABLE' | 'INPUT_FILE_INVALID',
    message: string,
  ) {
    super(message);
  }
}

const WHY: Record<string, string> = {
  ENOENT: 'there is no such file',
  EACCES: 'this user may not read it',
  EISDIR: 'it is a directory',
  ELOOP: 'its symlinks loop',
};

/** Reads a file named by `what` ("the service CA (--ca)"), or says why it cannot. */
export function readInputFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new InputFileError('INPUT_FILE_UNREADABLE', `cannot read ${what} ${path}: ${WHY[code] ? `${WHY[code]} (${code})` : code || String(error)}`);
  }
}

/** Certificate files by their names: what a vendor's CA bundle holds. */
export const CERTIFICATE_FILE = /\.(pem|crt|cer|der)$/i;

/**
 * Files named on a command line, each a file or a directory of files whose names match `pattern`
 * (in name order, not descending): the bytes of each, with the name it is reported by.
 */
export function readFilesOrDirectories(paths: readonly string[], what: string, pattern: RegExp): { name: string; bytes: Buffer }[] {
  const files: { name: string; bytes: Buffer }[] = [];
  for (const path of paths) {
    let directory = false;
    try {
      directory = statSync(path).isDirectory();
    } catch {
      // read below, which says why it cannot be
    }
    if (!directory) {
      files.push({ name: path, bytes: readInputFile(path, what) });
      continue;
    }
    const names = readdirSync(path).filter((name) => pattern.test(name)).sort();
    if (names.length === 0) throw new InputFileError('INPUT_FILE_INVALID', `${path} holds no ${what} (files named ${pattern.source})`);
    for (const name of names) files.push({ name: join(path, name), bytes: readInputFile(join(path, name), what) });
  }
  return files;
}

/** Checks that a file can be read (it is opened and closed), for what is then streamed rather than read whole. */
export function checkReadable(path: string, what: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new InputFileError('INPUT_FILE_UNREADABLE', `cannot read ${what} ${path}: ${WHY[code] ? `${WHY[code]} (${code})` : code || String(error)}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new InputFileError('INPUT_FILE_UNREADABLE', `cannot read ${what} ${path}: it is not a regular file`);
    return stat.size;
  } finally {
    closeSync(fd);
  }
}

/** Reads a named file, or standard input when the name is "-". */
export async function readInputOrStdin(path: string, what: string, stdin: (() => AsyncIterable<Uint8Array | string>) | undefined): Promise<Buffer> {
  if (path !== '-') return readInputFile(path, what);
  if (!stdin) throw new InputFileError('INPUT_FILE_UNREADABLE', `${what} is "-", but there is no standard input to read`);
  const chunks: Buffer[] = [];
  for await (const chunk of stdin()) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** A PEM CA certificate to trust (the service CA): read, and refused unless it holds a certificate. */
export function readCaCertificate(path: string, flag: string): string {
  const pem = readInputFile(path, `the service CA (${flag})`).toString('utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new InputFileError('INPUT_FILE_INVALID', `${path} is not a PEM certificate: ${flag} takes the service CA (service-ca.pem in the service's data directory)`);
  return pem;
}
