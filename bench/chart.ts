/**
 * The bench's results as a picture (bench/results/latest.svg): how far each ratio is from its
 * goal, and how H1's latency grows as the arrival rate rises. Drawn with Vega-Lite, rendered to
 * SVG in process (no browser, no canvas).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A figure compared with its baseline, and the ratio it should reach. */
export interface RatioBar {
  id: string;
  ratio: number;
  goal: number;
  met: boolean;
}

/** H1 under a fixed arrival rate: `load` is the fraction of H1's closed-loop throughput. */
export interface LoadPoint {
  load: number;
  rate_per_second: number;
  p50_ms: number;
  p99_ms: number;
}

export interface ChartInput {
  title: string;
  ratios: RatioBar[];
  latency_by_load: LoadPoint[];
  p99_goal_ms: number;
}

/** One chart of the picture, in Vega-Lite's JSON; `compile` checks the whole. */
type Panel = Record<string, unknown>;

const MET = '#2e8540';
const MISSED = '#b42318';
const WIDTH = 520;
/** Where the ratio axis starts: below the smallest ratio the bench has measured (0.026). */
const RATIO_AXIS_FROM = 0.01;

function ratiosPanel(ratios: RatioBar[]): Panel {
  const values = ratios.map((bar) => ({ ...bar, verdict: bar.met ? 'met' : 'missed' }));
  const y = { field: 'id', type: 'nominal', sort: null, title: null } as const;
  return {
    title: 'Ratio to the baseline measured in the same run (log scale); the tick is the goal',
    width: WIDTH,
    data: { values },
    layer: [
      {
        mark: 'bar',
        encoding: {
          y,
          // A bar on a log scale needs a start other than zero: the axis's own.
          x: {
            field: 'ratio',
            type: 'quantitative',
            scale: { type: 'log', domain: [RATIO_AXIS_FROM, 2], nice: false },
            title: 'ratio',
          },
          x2: { datum: RATIO_AXIS_FROM },
          color: {
            field: 'verdict',
            type: 'nominal',
            scale: { domain: ['met', 'missed'], range: [MET, MISSED] },
            title: 'goal',
          },
        },
      },
      {
        mark: { type: 'tick', color: 'black', thickness: 2 },
        encoding: { y, x: { field: 'goal', type: 'quantitative' } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4 },
        encoding: { y, x: { field: 'ratio', type: 'quantitative' }, text: { field: 'ratio', format: '.3f' } },
      },
    ],
  };
}

function latencyPanel(points: LoadPoint[], p99_goal_ms: number): Panel {
  const values = points.flatMap((point) => [
    { rate: point.rate_per_second, load: point.load, percentile: 'p50', ms: point.p50_ms },
    { rate: point.rate_per_second, load: point.load, percentile: 'p99', ms: point.p99_ms },
  ]);
  return {
    title: 'H1 over HTTP: latency per pair at a fixed arrival rate (open loop, log scale)',
    width: WIDTH,
    data: { values },
    layer: [
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'rate', type: 'quantitative', title: 'arrival rate, pairs/s' },
          y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'ms' },
          color: { field: 'percentile', type: 'nominal', title: null },
        },
      },
      {
        // Each point's share of H1's closed-loop throughput, written over its p99.
        transform: [{ filter: "datum.percentile === 'p99'" }],
        mark: { type: 'text', dy: -10 },
        encoding: {
          x: { field: 'rate', type: 'quantitative' },
          y: { field: 'ms', type: 'quantitative' },
          text: { field: 'load', format: '.0%' },
        },
      },
      { mark: { type: 'rule', strokeDash: [4, 4], color: MISSED }, encoding: { y: { datum: p99_goal_ms } } },
      {
        // At the right end: the curve starts at the left, near the goal.
        data: { values: [{}] },
        mark: { type: 'text', align: 'right', dy: -6, color: MISSED },
        encoding: {
          x: { value: WIDTH - 4 },
          y: { datum: p99_goal_ms },
          text: { value: `goal: p99 ≤ ${p99_goal_ms} ms at 50 % load` },
        },
      },
    ],
  };
}

/** The results as an SVG document. */
export async function resultsChart(input: ChartInput): Promise<string> {
  const panels = [ratiosPanel(input.ratios)];
  if (input.latency_by_load.length > 0) panels.push(latencyPanel(input.latency_by_load, input.p99_goal_ms));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: input.title,
    vconcat: panels,
    // The panels' colours mean different things (a verdict, a percentile).
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    config: { font: 'sans-serif' },
  } as unknown as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
