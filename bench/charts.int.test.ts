// The report's charts: bars and lines drawn to scale in SVG, and made PNG by Debian's Chromium at
// the chart's own size.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { barChartSvg, lineChartSvg, writeChart } from './charts.js';

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe('the report charts', () => {
  it('draws bars to scale, labels escaped, one colour per series', () => {
    const chart = barChartSvg('Steps <ms>', 'milliseconds', ['a & b', 'c'], [
      { name: 'alone', values: [50, 100] },
      { name: 'at once', values: [25, 0] },
    ]);
    const widths = [...chart.svg.matchAll(/<rect x="330" y="[\d.]+" width="([\d.]+)" height="12" fill="(#[0-9a-f]{6})"/g)].map((m) => [Number(m[1]), m[2]]);
    expect(widths).toHaveLength(4);
    // 100 is the axis end (a round number): its bar spans the plot; 50 half of it, 25 a quarter.
    // Rows in order, series side by side: (a & b: 50, 25), (c: 100, 0 drawn as a hairline).
    expect(widths.map(([width]) => width)).toEqual([250, 125, 500, 1]);
    expect(widths[0]![1]).toBe(widths[2]![1]);
    expect(widths[0]![1]).not.toBe(widths[1]![1]);
    expect(chart.svg).toContain('Steps &lt;ms&gt;');
    expect(chart.svg).toContain('a &amp; b');
  });

  it('places points on a log-2 axis and a rounded value axis', () => {
    const chart = lineChartSvg('Enrollments', 'at once', 'per minute', [{ name: 'SQLite', points: [[1, 1000], [4, 3000], [16, 4200]] }], { logX: true });
    const circles = [...chart.svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m): [number, number] => [Number(m[1]), Number(m[2])]);
    // x: 1, 4, 16 are evenly spaced on log 2; y: 4,200 under an axis ending at 5,000.
    expect(circles[1]![0] - circles[0]![0]).toBeCloseTo(circles[2]![0] - circles[1]![0], 1);
    expect(circles[2]![1]).toBeCloseTo(480 - 60 - (360 * 4200) / 5000, 1);
  });

  it('writes the SVG and its PNG at the chart’s size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-charts-'));
    try {
      const chart = barChartSvg('Steps', 'ms', ['one', 'two', 'three'], [{ name: 'alone', values: [1, 2, 3] }]);
      const png = await writeChart(dir, 'steps', chart);
      expect(png).toBe(join(dir, 'steps.png'));
      expect(pngSize(readFileSync(png!))).toEqual({ width: chart.width, height: chart.height });
      expect(readFileSync(join(dir, 'steps.svg'), 'utf8')).toBe(chart.svg);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
