// Readable colours from any accent the branding sets: WCAG 2.x relative luminance and contrast
// ratio (WCAG 2.2 §1.4.3, at least 4.5:1 for text). The accent fills the header; its text is
// white or black, whichever reads; the accent as text on the page is darkened (light scheme) or
// lightened (dark scheme) until it reads.

function channel(value: number): number {
  const c = value / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

function rgb(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new RangeError(`${hex} is not a #RRGGBB colour`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

export function luminance(hex: string): number {
  const [r, g, b] = rgb(hex);
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

export const LIGHT_TEXT = '#ffffff';
export const DARK_TEXT = '#000000';

/** Text on the accent: white or black, whichever contrasts more (one always reaches √21 ≈ 4.58:1). */
export function textOn(accent: string): string {
  return contrast(accent, LIGHT_TEXT) >= contrast(accent, DARK_TEXT) ? LIGHT_TEXT : DARK_TEXT;
}

/** The page's backgrounds in each scheme: design/tokens.css's --bg and --surface (a test keeps them equal). */
export const PAGE = { light: ['#ffffff', '#f4f5f7'], dark: ['#121212', '#1e1f22'] } as const;

/**
 * The accent as text (links, focus rings, progress) on the page's backgrounds: darkened step by
 * step on a light page, lightened on a dark one, until it reaches 4.5:1 on every one of them.
 */
export function readableOn(accent: string, backgrounds: readonly string[]): string {
  let [r, g, b] = rgb(accent);
  const lighten = backgrounds.every((background) => luminance(background) < 0.18);
  const hex = () => `#${[r, g, b].map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;
  const worst = () => Math.min(...backgrounds.map((background) => contrast(hex(), background)));
  for (let i = 0; i < 100 && worst() < 4.5; i++) [r, g, b] = lighten ? [r, g, b].map((c) => c + (255 - c) * 0.12) as [number, number, number] : [r * 0.9, g * 0.9, b * 0.9];
  return hex();
}
