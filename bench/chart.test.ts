import { describe, expect, it } from 'vitest';
import { resultsChart } from './chart.ts';

/** The marks of one kind in the SVG, each with its accessible description and its drawing. */
function marks(svg: string, kind: string): { label: string; path: string; fill: string }[] {
  const pattern = new RegExp(
    `<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="${kind}"[^>]*? d="([^"]*)"[^>]*?fill="([^"]*)"`,
    'g',
  );
  return [...svg.matchAll(pattern)].map(([, label, path, fill]) => ({
    label: label!,
    path: path!,
    fill: fill!,
  }));
}

/** A horizontal bar's length: its path starts `M0,y h<length>`. */
const barLength = (path: string) => Number(/h([\d.]+)/.exec(path)![1]);

describe('the bench chart', () => {
  const input = {
    title: 'test run',
    ratios: [
      { id: 'E1 durable', ratio: 0.03, goal: 0.7, met: false },
      { id: 'E2 hot account', ratio: 1.04, goal: 0.8, met: true },
    ],
    latency_by_load: [
      { load: 0.5, rate_per_second: 1_000, p50_ms: 3, p99_ms: 20 },
      { load: 0.8, rate_per_second: 1_600, p50_ms: 9, p99_ms: 100 },
    ],
    p99_goal_ms: 5,
  };

  it('draws every ratio as a bar, missed goals in red and met ones in green, longer as the ratio grows', async () => {
    const bars = marks(await resultsChart(input), 'bar');
    expect(bars.map((bar) => bar.label)).toEqual([
      expect.stringContaining('id: E1 durable; goal: missed'),
      expect.stringContaining('id: E2 hot account; goal: met'),
    ]);
    expect(bars.map((bar) => bar.fill)).toEqual(['#b42318', '#2e8540']);
    expect(barLength(bars[1]!.path)).toBeGreaterThan(barLength(bars[0]!.path));
  });

  it('marks each goal with a tick and draws p50 and p99 at every arrival rate, with the p99 goal', async () => {
    const svg = await resultsChart(input);
    expect(marks(svg, 'tick').map((tick) => tick.label)).toEqual([
      expect.stringContaining('goal: 0.7'),
      expect.stringContaining('goal: 0.8'),
    ]);
    const points = marks(svg, 'point').map((point) => point.label);
    expect(points).toHaveLength(4);
    expect(points).toContainEqual(expect.stringContaining('ms: 100'));
    expect(svg).toContain('goal: p99 ≤ 5 ms at 50 % load');
  });

  it('leaves the latency panel out, not drawn empty, when no open-loop load was measured', async () => {
    const svg = await resultsChart({ ...input, latency_by_load: [] });
    expect(svg).not.toContain('H1 over HTTP');
    expect(svg).not.toContain('goal: p99');
    expect(marks(svg, 'bar')).toHaveLength(2);
  });
});
