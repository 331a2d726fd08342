/** Credits per day, stacked by operation: a plain SVG bar chart with a legend and a text summary. */
const PALETTE = ['#1d4f91', '#d9822b', '#2e8540', '#8f3f97', '#b42318', '#0e7c86', '#6b6b6b'];

export interface DailyUsage {
  day: string;
  /** Credits by operation, as numbers: a chart needs no more precision than a pixel. */
  by_operation: Record<string, number>;
}

export function UsageChart(props: { days: DailyUsage[] }) {
  const operations = [...new Set(props.days.flatMap((day) => Object.keys(day.by_operation)))].sort();
  const totals = props.days.map((day) =>
    Object.values(day.by_operation).reduce((sum, value) => sum + value, 0),
  );
  const max = Math.max(1, ...totals);
  const width = 640;
  const height = 120;
  const bar = props.days.length > 0 ? width / props.days.length : width;
  const color = (operation: string) => PALETTE[operations.indexOf(operation) % PALETTE.length]!;
  const total = totals.reduce((sum, value) => sum + value, 0);
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${width} ${height + 20}`}
        role="img"
        aria-label={`Credits per day by operation: ${total.toLocaleString('en-US')} in ${props.days.length} days`}
      >
        {props.days.map((day, index) => {
          let y = height;
          return (
            <g key={day.day}>
              {operations.map((operation) => {
                const value = day.by_operation[operation] ?? 0;
                const h = (value / max) * (height - 10);
                y -= h;
                return value > 0 ? (
                  <rect
                    key={operation}
                    x={index * bar + 2}
                    y={y}
                    width={Math.max(1, bar - 4)}
                    height={h}
                    fill={color(operation)}
                  >
                    <title>{`${day.day} · ${operation}: ${value.toLocaleString('en-US')} credits`}</title>
                  </rect>
                ) : null;
              })}
              {props.days.length <= 14 || index % Math.ceil(props.days.length / 10) === 0 ? (
                // The first and last labels anchor inward, so the chart's edges never clip them.
                <text
                  x={
                    index === 0
                      ? index * bar + 2
                      : index === props.days.length - 1
                        ? (index + 1) * bar - 2
                        : index * bar + bar / 2
                  }
                  y={height + 14}
                  textAnchor={index === 0 ? 'start' : index === props.days.length - 1 ? 'end' : 'middle'}
                  fontSize="10"
                >
                  {day.day.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {operations.map((operation) => (
          <span key={operation} className="legend">
            <i style={{ background: color(operation) }} /> {operation}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
