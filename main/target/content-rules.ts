// The shapes of content rules (place-contents.ts): a file the system owns edited in some keys only,
// a file device setup writes whole, a JSON object, PEM blocks — and the context a rule looks at.
import { X509Certificate } from 'node:crypto';

import type { Scope } from './places.js';

/** What a content rule may look at besides the new content. */
export interface ContentContext {
  /** The path written (as given, already matched to the place). */
  path: string;
  /** The file as it is now, or null. */
  current: string | null;
  scope: Scope;
  /** A file of the device, as text (/etc/passwd, /etc/group), or null. */
  read: (path: string) => string | null;
}

/** Why `next` may not be the place's content, or null. */
export type ContentRule = (next: Buffer, context: ContentContext) => string | null;


export function lines(text: string | null): string[] {
  return text === null || text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

export function utf8(next: Buffer): string | null {
  const text = next.toString('utf8');
  return Buffer.from(text, 'utf8').equals(next) && !text.includes('\0') ? text : null;
}

/**
 * A file the system owns, edited in some keys only: every line of `managed` keys in the new content
 * is `valid` (or one the file already had), and the other lines are the file's own, in its order
 * (blank lines and the `headers` a merge may add aside; `fresh`: what a missing file starts from).
 */
export function editedKeys(what: string, managed: (line: string) => boolean, valid: (line: string, context: ContentContext) => string | null, headers: string[] = [], fresh = ''): ContentRule {
  return (next, context) => {
    const text = utf8(next);
    if (text === null) return `${context.path} must be text`;
    const before = lines(context.current ?? fresh);
    const after = lines(text);
    for (const line of after.filter(managed)) {
      if (before.includes(line)) continue;
      const why = valid(line, context);
      if (why) return `${context.path}: "${line.slice(0, 80)}" ${why}`;
    }
    const kept = (all: string[]) => all.filter((line) => !managed(line) && line.trim() !== '' && !headers.includes(line.trim()));
    const was = kept(before);
    const is = kept(after);
    const at = is.findIndex((line, index) => line !== was[index]);
    if (at >= 0 || is.length !== was.length) {
      const line = at >= 0 ? is[at]! : was[is.length] ?? '';
      return `${context.path}: device setup changes only ${what} there, not "${line.slice(0, 80)}"`;
    }
    return null;
  };
}

/** A file device setup writes whole: exactly `pattern` (anchored), then `check` on its groups. */
export function whole(pattern: RegExp, form: string, check: (found: RegExpExecArray, context: ContentContext) => string | null = () => null): ContentRule {
  return (next, context) => {
    const text = utf8(next);
    const found = text === null ? null : pattern.exec(text);
    if (!found) return `${context.path} must be ${form}`;
    return check(found, context);
  };
}


export const keyOf = (line: string, separator: RegExp) => line.trim().split(separator)[0]!;
export const isKey = (keys: string[], separator = /=/) => (line: string) => !/^\s*[#;]/.test(line) && keys.includes(keyOf(line, separator));
export const only = (pattern: RegExp, form: string) => (line: string) => (pattern.test(line) ? null : `is not ${form}`);

export function json(what: string): ContentRule {
  return (next, context) => {
    const text = utf8(next);
    try {
      const value: unknown = text === null ? null : JSON.parse(text);
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? null : `${context.path} must be ${what} (a JSON object)`;
    } catch {
      return `${context.path} must be ${what} (a JSON object)`;
    }
  };
}

/** PEM blocks of `label` only, each one parsing as what it says. */
export function pem(label: 'CERTIFICATE' | 'TSS2 PRIVATE KEY', most: number): ContentRule {
  return (next, context) => {
    const text = utf8(next);
    const blocks = text?.match(new RegExp(`-----BEGIN ${label}-----\\n[A-Za-z0-9+/=\\n]+-----END ${label}-----\\n?`, 'g')) ?? [];
    if (text === null || blocks.length === 0 || blocks.length > most || blocks.join('').replace(/\n/g, '') !== text.replace(/\n/g, '')) {
      return `${context.path} must be ${most === 1 ? 'one' : 'only'} PEM ${label.toLowerCase()}${most === 1 ? '' : 's'}`;
    }
    if (label === 'CERTIFICATE') {
      for (const block of blocks) {
        try {
          new X509Certificate(block);
        } catch {
          return `${context.path} holds a certificate that does not parse`;
        }
      }
    }
    return null;
  };
}
