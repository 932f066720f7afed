// Logos are recognised by their bytes, never by a file name or a claimed type: PNG and JPEG by
// their structure, SVG as a plain <svg> document without scripts, external references or DTDs
// (the ESP shows the logo, so it must not be a way in).
import { LOGO_MAX_BYTES, type Logo } from '../../protocol/branding.js';
import { ServiceError } from '../errors.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const MAX_DIMENSION = 8192;

function invalid(reason: string): ServiceError {
  return new ServiceError('BRANDING_INVALID', `the logo is not accepted: ${reason}`, [{ path: 'logo', reason }]);
}

function checkPng(bytes: Buffer): boolean {
  if (!PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return false;
  // The first chunk must be IHDR (13 bytes) with sane dimensions; the last must be IEND.
  if (bytes.length < 8 + 25 + 12 || bytes.readUInt32BE(8) !== 13 || bytes.toString('latin1', 12, 16) !== 'IHDR') throw invalid('a PNG without a valid IHDR chunk');
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  if (width === 0 || height === 0 || width > MAX_DIMENSION || height > MAX_DIMENSION) throw invalid(`a PNG of ${width}x${height} pixels`);
  if (bytes.toString('latin1', bytes.length - 8, bytes.length - 4) !== 'IEND') throw invalid('a truncated PNG (no IEND chunk)');
  return true;
}

function checkJpeg(bytes: Buffer): boolean {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes[2] !== 0xff) return false;
  // Walk the marker segments up to the scan: a frame header (SOFn) must come first.
  let at = 2;
  let frame = false;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) throw invalid('a damaged JPEG (marker expected)');
    const marker = bytes[at + 1]!;
    if (marker === 0xda) break; // start of scan
    const length = bytes.readUInt16BE(at + 2);
    if (length < 2) throw invalid('a damaged JPEG (segment length)');
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const height = bytes.readUInt16BE(at + 5);
      const width = bytes.readUInt16BE(at + 7);
      if (width === 0 || height === 0 || width > MAX_DIMENSION || height > MAX_DIMENSION) throw invalid(`a JPEG of ${width}x${height} pixels`);
      frame = true;
    }
    at += 2 + length;
  }
  if (!frame) throw invalid('a JPEG without a frame header');
  if (bytes[bytes.length - 2] !== 0xff || bytes[bytes.length - 1] !== 0xd9) throw invalid('a truncated JPEG (no end marker)');
  return true;
}

const SVG_FORBIDDEN: [RegExp, string][] = [
  [/<!DOCTYPE|<!ENTITY/i, 'an SVG with a DTD or entities'],
  [/<script[\s>/]/i, 'an SVG with a script'],
  [/<foreignObject[\s>/]/i, 'an SVG with foreign content'],
  [/\son[a-z]+\s*=/i, 'an SVG with event handlers'],
  [/javascript:/i, 'an SVG with javascript: links'],
  [/(?:xlink:)?href\s*=\s*["']\s*(?!#)/i, 'an SVG that references other documents'],
  [/url\(\s*["']?\s*(?!#)/i, 'an SVG that loads resources'],
  [/@import/i, 'an SVG that imports style sheets'],
];

function checkSvg(bytes: Buffer): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return false;
  }
  const body = text
    .replace(/^\uFEFF/, '')
    .replace(/^\s*<\?xml[^>]*\?>/, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .trimStart();
  if (!/^<svg[\s>]/.test(body)) return false;
  if (!/^<svg[^>]*\sxmlns\s*=\s*["']http:\/\/www\.w3\.org\/2000\/svg["']/.test(body)) throw invalid('an SVG without the SVG namespace');
  for (const [pattern, reason] of SVG_FORBIDDEN) if (pattern.test(body)) throw invalid(reason);
  if (!/<\/svg>\s*$/.test(body)) throw invalid('an SVG that does not end with </svg>');
  return true;
}

/** Validates logo bytes by content and returns the logo with its media type. */
export function validateLogo(bytes: Buffer): Logo {
  if (bytes.length === 0) throw invalid('an empty file');
  if (bytes.length > LOGO_MAX_BYTES) throw invalid(`${bytes.length} bytes, more than ${LOGO_MAX_BYTES} (512 KB)`);
  const mediaType = checkPng(bytes) ? 'image/png' : checkJpeg(bytes) ? 'image/jpeg' : checkSvg(bytes) ? 'image/svg+xml' : undefined;
  if (!mediaType) throw invalid('not a PNG, JPEG or SVG image');
  return { mediaType, data: bytes.toString('base64') };
}
