import jsQR from 'jsqr';
import { describe, expect, it } from 'vitest';

import { qrSvg, qrSymbol } from './qr.js';

/** The symbol as pixels (4 px per module, quiet zone included), as a camera would see it. */
function pixels(text: string): { data: Uint8ClampedArray; width: number } {
  const symbol = qrSymbol(text);
  const scale = 4;
  const width = (symbol.size + 8) * scale;
  const data = new Uint8ClampedArray(width * width * 4).fill(255);
  for (let y = 0; y < width; y++) {
    for (let x = 0; x < width; x++) {
      const row = Math.floor(y / scale) - 4;
      const column = Math.floor(x / scale) - 4;
      if (row >= 0 && column >= 0 && row < symbol.size && column < symbol.size && symbol.dark(row, column)) {
        data.fill(0, (y * width + x) * 4, (y * width + x) * 4 + 3);
      }
    }
  }
  return { data, width };
}

describe('the QR code of the hardware hash', () => {
  it('decodes, with an independent reader, to exactly the hash', () => {
    const hash = 'T0FBAAEAHAAAAAoAHgZhSgAACQBBQkNERUYxMjM0NTY3ODkwAAsAEAAEGA0KGSsrEAAIAFRQTTIgMi4wAAgAEABkZWZhdWx0LW1vZGVsAAUAFAAAABsAKgCwYAAAAAA4';
    const { data, width } = pixels(hash);
    // jsqr is CommonJS: its function is the default export of module.exports.
    expect(jsQR.default(data, width, width)?.data).toBe(hash);
  });

  it('is an SVG of black modules on white with a quiet zone', () => {
    const svg = qrSvg('ABC');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 (\d+) \1"/);
    expect(svg).toContain('<rect width=');
    expect(svg).toMatch(/<path d="M4 4h1v1h-1z/); // the finder pattern's corner, after the quiet zone
  });
});
