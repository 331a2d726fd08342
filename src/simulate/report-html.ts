/**
 * The simulator's report as one self-contained HTML page (no script, no request elsewhere):
 * breakage by kind over time, the distribution of the cost per usable output across accounts,
 * and refusals by cause, as inline SVG bar charts; the totals and every account as tables.
 */
import { paidMoney, type SimulationReport } from './simulate.ts';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

const PALETTE = ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477'];

interface Bar {
  label: string;
  /** Stacked parts, by series. */
  parts: { series: string; value: number }[];
}

/** A stacked bar chart in SVG; values are shown, so the chart never stands alone. */
function barChart(title: string, bars: readonly Bar[], unit: string): string {
  if (bars.length === 0)
    return `<figure><figcaption>${escapeHtml(title)}</figcaption><p>Nothing to show.</p></figure>`;
  const series = [...new Set(bars.flatMap((bar) => bar.parts.map((part) => part.series)))];
  const max = Math.max(1e-9, ...bars.map((bar) => bar.parts.reduce((sum, part) => sum + part.value, 0)));
  const width = 640;
  const row = 26;
  const label_width = 230;
  const height = bars.length * row + 30;
  const rects = bars
    .map((bar, index) => {
      let x = label_width;
      const y = index * row + 4;
      const total = bar.parts.reduce((sum, part) => sum + part.value, 0);
      const pieces = bar.parts
        .map((part) => {
          const w = ((width - label_width - 80) * part.value) / max;
          const rect = `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${row - 8}" fill="${PALETTE[series.indexOf(part.series) % PALETTE.length]}"><title>${escapeHtml(`${part.series}: ${part.value} ${unit}`)}</title></rect>`;
          x += w;
          return rect;
        })
        .join('');
      return `<text x="${label_width - 6}" y="${y + 13}" text-anchor="end">${escapeHtml(bar.label)}</text>${pieces}<text x="${(x + 4).toFixed(1)}" y="${y + 13}">${escapeHtml(String(Number(total.toFixed(6))))}</text>`;
    })
    .join('');
  const legend = series
    .map(
      (name, index) =>
        `<span class="key"><span style="background:${PALETTE[index % PALETTE.length]}"></span>${escapeHtml(name)}</span>`,
    )
    .join(' ');
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><svg role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${rects}</svg><div>${legend}</div></figure>`;
}

/** How many accounts fall in each range of credits per usable output. */
function costDistribution(report: SimulationReport): Bar[] {
  const costs = report.accounts
    .map((account) => account.credits_per_usable_output)
    .filter((cost): cost is string => cost !== null)
    .map(Number);
  if (costs.length === 0) return [];
  const top = Math.max(...costs);
  const buckets = 8;
  const step = top / buckets || 1;
  const counts = new Array<number>(buckets).fill(0);
  for (const cost of costs) counts[Math.min(buckets - 1, Math.floor(cost / step))]! += 1;
  return counts.map((count, index) => ({
    label: `${(index * step).toFixed(3)}–${((index + 1) * step).toFixed(3)}`,
    parts: [{ series: 'accounts', value: count }],
  }));
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return `<table><thead><tr>${header.map((cell) => `<th scope="col">${escapeHtml(cell)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const kinds = (record: Record<string, string>) =>
  Object.entries(record)
    .map(([kind, credits]) => `${kind} ${credits}`)
    .join(', ') || '—';

export function reportHtml(reports: readonly SimulationReport[]): string {
  const sections = reports.map((report) => {
    const breakage = Object.entries(report.expired_by_month).map(([month, by_kind]) => ({
      label: month,
      parts: Object.entries(by_kind).map(([kind, credits]) => ({ series: kind, value: Number(credits) })),
    }));
    const refusals = Object.entries(report.total.refused).map(([cause, count]) => ({
      label: cause,
      parts: [{ series: 'runs refused', value: count }],
    }));
    const total = report.total;
    return `<section><h2>${escapeHtml(report.config)}</h2>
<p>${report.rows} rows from ${escapeHtml(report.from)} to ${escapeHtml(report.to)}.</p>
${table(
  [
    'granted',
    'bought',
    'used',
    'expired (breakage)',
    'money paid',
    'per credit used',
    'credits per usable output',
    'spend on failed runs',
  ],
  [
    [
      kinds(total.granted),
      kinds(total.bought),
      kinds(total.used),
      kinds(total.expired),
      `${report.currency} ${paidMoney(report.currency, total.paid_minor)}`,
      total.money_per_credit ?? '—',
      total.credits_per_usable_output ?? '—',
      `${(Number(total.failed_share) * 100).toFixed(2)} %`,
    ],
  ],
)}
${barChart('Breakage: credits expired by month and kind', breakage, 'credits')}
${barChart('Credits per usable output, accounts by range', costDistribution(report), 'accounts')}
${barChart('Runs refused, by cause', refusals, 'runs')}
<details><summary>Every account</summary>${table(
      ['account', 'used', 'expired', 'paid', 'usable outputs', 'credits per usable output', 'refused'],
      report.accounts.map((account) => [
        account.account,
        account.credits_used,
        kinds(account.expired),
        String(account.paid_minor),
        String(account.usable_outputs),
        account.credits_per_usable_output ?? '—',
        Object.entries(account.refused)
          .map(([cause, count]) => `${cause} ×${count}`)
          .join(', ') || '—',
      ]),
    )}</details></section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tally simulation</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
figure{margin:1.5rem 0}figcaption{font-weight:600;margin-bottom:.5rem}svg text{font-size:12px}
.key{display:inline-flex;align-items:center;gap:.25rem;margin-right:1rem}.key span{width:12px;height:12px;display:inline-block}
section{${reports.length > 1 ? 'display:inline-block;vertical-align:top;width:48%;margin-right:2%' : ''}}
</style></head><body><h1>Tally simulation</h1>
${sections.join('\n')}
</body></html>
`;
}
