// The report's charts: drawn as SVG here (no chart library), made PNG by Debian's Chromium
// (headless `--screenshot`), so the Markdown report shows them anywhere. Both files are kept.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { CHROMIUM } from '../main/host/kiosk/chromium.js';

const exec = promisify(execFile);
const FONT = 'font-family="DejaVu Sans, sans-serif"';
const COLOURS = ['#0067b8', '#d83b01', '#107c10', '#5c2d91'];

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round number at or above `value` for an axis's end (1, 2, 5 × 10^n). */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].find((step) => step * magnitude >= value) ?? 10) * magnitude;
}

/** The SVG's start: white ground, the title, and a legend entry per series. */
function frame(width: number, height: number, title: string, names: string[]): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="16" y="28" ${FONT} font-size="18" font-weight="bold">${escape(title)}</text>`,
    ...names.map((name, k) => `<rect x="${16 + k * 190}" y="40" width="12" height="12" fill="${COLOURS[k % COLOURS.length]}"/><text x="${34 + k * 190}" y="51" ${FONT} font-size="12">${escape(name)}</text>`),
  ];
}

/** Horizontal bars, one row per label, with one or more series side by side. */
export function barChartSvg(title: string, unit: string, labels: string[], series: { name: string; values: number[] }[]): { svg: string; width: number; height: number } {
  const width = 900;
  const row = 12 + 14 * series.length;
  const top = 60;
  const left = 330;
  const right = 70;
  const height = top + labels.length * row + 50;
  const max = niceCeiling(Math.max(...series.flatMap((s) => s.values)));
  const x = (value: number) => left + ((width - left - right) * value) / max;
  const parts = frame(width, height, title, series.map((s) => s.name));
  for (let tick = 0; tick <= 4; tick++) {
    const value = (max * tick) / 4;
    parts.push(`<line x1="${x(value)}" y1="${top - 4}" x2="${x(value)}" y2="${height - 40}" stroke="#ddd"/><text x="${x(value)}" y="${height - 24}" ${FONT} font-size="11" text-anchor="middle">${value.toLocaleString('en')}</text>`);
  }
  parts.push(`<text x="${(left + width - right) / 2}" y="${height - 8}" ${FONT} font-size="12" text-anchor="middle">${escape(unit)}</text>`);
  labels.forEach((label, i) => {
    const y = top + i * row;
    parts.push(`<text x="${left - 8}" y="${y + row / 2 + 4}" ${FONT} font-size="12" text-anchor="end">${escape(label)}</text>`);
    series.forEach((s, k) => {
      const value = s.values[i] ?? 0;
      parts.push(`<rect x="${left}" y="${y + 6 + k * 14}" width="${Math.max(1, x(value) - left)}" height="12" fill="${COLOURS[k % COLOURS.length]}"/>`);
      parts.push(`<text x="${x(value) + 4}" y="${y + 16 + k * 14}" ${FONT} font-size="10">${value.toFixed(value < 10 ? 1 : 0)}</text>`);
    });
  });
  parts.push('</svg>');
  return { svg: parts.join('\n'), width, height };
}

/** Lines through points (x on a log-2 axis when asked), one per series. */
export function lineChartSvg(title: string, xLabel: string, yLabel: string, series: { name: string; points: [number, number][] }[], options: { logX?: boolean } = {}): { svg: string; width: number; height: number } {
  const width = 900;
  const height = 480;
  const left = 80;
  const right = 30;
  const top = 60;
  const bottom = 60;
  const xs = series.flatMap((s) => s.points.map(([px]) => px));
  const tx = (value: number) => (options.logX ? Math.log2(value) : value);
  const minX = Math.min(...xs.map(tx));
  const maxX = Math.max(...xs.map(tx));
  const maxY = niceCeiling(Math.max(...series.flatMap((s) => s.points.map(([, py]) => py))));
  const x = (value: number) => left + ((width - left - right) * (tx(value) - minX)) / Math.max(1e-9, maxX - minX);
  const y = (value: number) => height - bottom - ((height - top - bottom) * value) / maxY;
  const parts = frame(width, height, title, series.map((s) => s.name));
  for (let tick = 0; tick <= 5; tick++) {
    const value = (maxY * tick) / 5;
    parts.push(`<line x1="${left}" y1="${y(value)}" x2="${width - right}" y2="${y(value)}" stroke="#ddd"/><text x="${left - 6}" y="${y(value) + 4}" ${FONT} font-size="11" text-anchor="end">${value.toLocaleString('en')}</text>`);
  }
  for (const value of [...new Set(xs)].sort((a, b) => a - b)) {
    parts.push(`<text x="${x(value)}" y="${height - bottom + 18}" ${FONT} font-size="11" text-anchor="middle">${value}</text>`);
  }
  parts.push(`<text x="${(left + width - right) / 2}" y="${height - 16}" ${FONT} font-size="12" text-anchor="middle">${escape(xLabel)}</text>`);
  parts.push(`<text x="18" y="${(top + height - bottom) / 2}" ${FONT} font-size="12" text-anchor="middle" transform="rotate(-90 18 ${(top + height - bottom) / 2})">${escape(yLabel)}</text>`);
  series.forEach((s, k) => {
    const colour = COLOURS[k % COLOURS.length];
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2.5" points="${s.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ')}"/>`);
    for (const [px, py] of s.points) parts.push(`<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="4" fill="${colour}"/><text x="${x(px).toFixed(1)}" y="${(y(py) - 9).toFixed(1)}" ${FONT} font-size="10" text-anchor="middle">${Math.round(py).toLocaleString('en')}</text>`);
  });
  parts.push('</svg>');
  return { svg: parts.join('\n'), width, height };
}

/** Writes `NAME.svg` and, where Chromium is installed, `NAME.png` (its screenshot of the SVG). Returns the PNG's path, or null. */
export async function writeChart(dir: string, name: string, chart: { svg: string; width: number; height: number }): Promise<string | null> {
  const svgPath = join(dir, `${name}.svg`);
  writeFileSync(svgPath, chart.svg);
  if (!existsSync(CHROMIUM)) return null;
  const png = join(dir, `${name}.png`);
  const profile = mkdtempSync(join(tmpdir(), 'selfdeploy-chart-'));
  try {
    await exec(
      CHROMIUM,
      ['--headless', '--disable-gpu', '--hide-scrollbars', '--no-first-run', `--user-data-dir=${profile}`, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), `--screenshot=${png}`, `--window-size=${chart.width},${chart.height}`, `file://${svgPath}`],
      { timeout: 60_000 },
    );
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
  return existsSync(png) ? png : null;
}
