// Logos by content: real PNG/JPEG/SVG pass, anything else or anything dangerous does not.
import { deflateSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { ServiceError } from '../errors.js';
import { validateLogo } from './branding.js';

function crc32(bytes: Buffer): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function png(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const raw = Buffer.alloc((width * 4 + 1) * height);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// A minimal baseline JPEG frame: SOI, SOF0 (16x8, 1 component), SOS, EOI.
const JPEG = Buffer.from('ffd8ffc0000b080008001001011100ffda0008010100003f00d2cfffd9', 'hex');

function rejects(bytes: Buffer, reason: RegExp): void {
  let error: unknown;
  try {
    validateLogo(bytes);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ServiceError);
  expect((error as ServiceError).code).toBe('BRANDING_INVALID');
  expect((error as ServiceError).message).toMatch(reason);
}

describe('validateLogo', () => {
  it('accepts PNG, JPEG and plain SVG, naming the type from the content', () => {
    expect(validateLogo(png(32, 16)).mediaType).toBe('image/png');
    expect(validateLogo(JPEG).mediaType).toBe('image/jpeg');
    const svg = '\uFEFF<?xml version="1.0"?>\n<!-- logo -->\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><use href="#a"/><rect id="a" width="4" height="4"/></svg>\n';
    expect(validateLogo(Buffer.from(svg)).mediaType).toBe('image/svg+xml');
  });

  it('refuses other formats, broken images, and oversized or empty files', () => {
    rejects(Buffer.from('GIF89a......'), /not a PNG, JPEG or SVG/);
    rejects(Buffer.from('<html><body>hi</body></html>'), /not a PNG, JPEG or SVG/);
    rejects(Buffer.alloc(0), /empty/);
    rejects(png(32, 16).subarray(0, 40), /IEND|IHDR/);
    rejects(png(9000, 1), /9000x1 pixels/);
    rejects(JPEG.subarray(0, JPEG.length - 2), /no end marker/);
    rejects(Buffer.concat([png(1, 1), Buffer.alloc(600 * 1024)]), /more than 524288/);
  });

  it('refuses SVG that can run or fetch anything', () => {
    const wrap = (inner: string, attributes = '') => Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg"${attributes}>${inner}</svg>`);
    rejects(wrap('<script>alert(1)</script>'), /script/);
    rejects(wrap('', ' onload="alert(1)"'), /event handlers/);
    rejects(wrap('<a href="javascript:alert(1)">x</a>'), /javascript|references/);
    rejects(wrap('<image href="https://tracker.example/p.png"/>'), /references other documents/);
    rejects(wrap('<rect style="fill:url(https://x.example/a)"/>'), /loads resources/);
    rejects(wrap('<foreignObject><div/></foreignObject>'), /foreign content/);
    rejects(Buffer.from('<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg"/>'), /not a PNG|DTD/);
    rejects(Buffer.from('<svg><rect/></svg>'), /SVG namespace/);
  });
});
