// The organization's accent on a page of the ESP or the console: the accent itself (banners,
// primary buttons), the text on it (white or black, whichever reads), and the accent as text on
// the page's backgrounds — computed for the light or the dark scheme, whichever the system asks
// for, and again when that changes.
import { useEffect, useState, type CSSProperties } from 'react';

import { PAGE, readableOn, textOn } from '../contrast.js';

/** Whether the system asks for the dark scheme (and follows it when that changes). */
export function useDarkScheme(): boolean {
  const query = '(prefers-color-scheme: dark)';
  const [dark, setDark] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const list = window.matchMedia(query);
    const change = () => setDark(list.matches);
    list.addEventListener('change', change);
    return () => list.removeEventListener('change', change);
  }, []);
  return dark;
}

/** The accent's custom properties (--accent, --on-accent, --accent-text) for the current scheme. */
export function useAccentStyle(accent: string): CSSProperties {
  const dark = useDarkScheme();
  return { '--accent': accent, '--on-accent': textOn(accent), '--accent-text': readableOn(accent, dark ? PAGE.dark : PAGE.light) } as CSSProperties;
}
