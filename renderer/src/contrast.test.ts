import { describe, expect, it } from 'vitest';

import { DARK_TEXT, LIGHT_TEXT, contrast, readableOnWhite, textOn } from './contrast.js';

describe('colours from the branding accent', () => {
  it('computes WCAG contrast ratios', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrast('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
  });

  it.each(['#0067b8', '#ffd400', '#00ff00', '#7f7f7f', '#000000', '#ffffff', '#e81123', '#5c2d91', '#777777', '#808080'])(
    'puts text on %s that reaches 4.5:1, and makes it readable as text on white',
    (accent) => {
      const text = textOn(accent);
      expect([LIGHT_TEXT, DARK_TEXT]).toContain(text);
      expect(contrast(accent, text)).toBeGreaterThanOrEqual(4.5);
      expect(contrast(readableOnWhite(accent), '#ffffff')).toBeGreaterThanOrEqual(4.5);
    },
  );
});
