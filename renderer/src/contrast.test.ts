import { describe, expect, it } from 'vitest';

import { DARK_TEXT, LIGHT_TEXT, PAGE, contrast, readableOn, textOn } from './contrast.js';

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
      expect(contrast(readableOn(accent, ['#ffffff']), '#ffffff')).toBeGreaterThanOrEqual(4.5);
      // On the light and the dark page, on both of each one's backgrounds.
      for (const backgrounds of [PAGE.light, PAGE.dark]) {
        const text = readableOn(accent, backgrounds);
        for (const background of backgrounds) expect(contrast(text, background), `${text} on ${background}`).toBeGreaterThanOrEqual(4.5);
      }
    },
  );

  it('keeps an accent that already reads, and moves one that does not the right way', () => {
    expect(readableOn('#000000', PAGE.light)).toBe('#000000');
    expect(readableOn('#ffd400', PAGE.dark)).toBe('#ffd400');
    // Dark blue on a dark page gets lighter; yellow on a white page gets darker.
    expect(contrast(readableOn('#0067b8', PAGE.dark), '#ffffff')).toBeLessThan(contrast('#0067b8', '#ffffff'));
    expect(contrast(readableOn('#ffd400', PAGE.light), '#000000')).toBeLessThan(contrast('#ffd400', '#000000'));
  });
});
