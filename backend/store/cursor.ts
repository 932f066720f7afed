// Page cursors the service hands out and takes back: a pair of the ordering key and the id of the
// last row of a page, opaque to clients (base64url JSON), refused when it is not one of ours.
import { base64Decode, base64url, utf8Decode, utf8Encode } from '../../protocol/encoding.js';
import { ServiceError } from '../errors.js';

export function encodeCursor(key: string, id: string): string {
  return base64url(utf8Encode(JSON.stringify([key, id])));
}

export function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(utf8Decode(base64Decode(cursor.replaceAll('-', '+').replaceAll('_', '/'))));
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')) return value as [string, string];
  } catch {
    // reported below
  }
  throw new ServiceError('VALIDATION_FAILED', 'the cursor is not one this service issued', [{ path: 'cursor', reason: 'invalid cursor' }]);
}
