/** Plain-text renderings for the terminal. */
import type { PackListView } from '../service/payments/views.ts';
import type { PriceTableView } from '../service/price-table.ts';

/** Lays rows out in columns padded to their widest cell; numbers are right-aligned. */
export function columns(header: string[], rows: string[][], right_aligned: ReadonlySet<number>): string[] {
  const widths = header.map((cell, index) =>
    Math.max(cell.length, ...rows.map((row) => (row[index] ?? '').length)),
  );
  const render = (row: string[]) =>
    row
      .map((cell, index) =>
        right_aligned.has(index) ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!),
      )
      .join('  ')
      .trimEnd();
  return [render(header), widths.map((width) => '─'.repeat(width)).join('  '), ...rows.map(render)];
}

const rates = (record: Record<string, string>, unit: string) =>
  Object.entries(record)
    .map(([dimension, rate]) => `${rate}${unit}/${dimension}`)
    .join(', ');

export function renderPriceTable(table: PriceTableView): string[] {
  const { currency, amount_per_credit } = table.credit_value;
  const lines = [
    `Price book version ${table.version}, in force from ${table.effective_at}`,
    `1 credit = ${currency} ${amount_per_credit}`,
    '',
  ];
  const rows = table.operations.flatMap((operation) => {
    const limits = [
      operation.min_credits === null ? '' : `min ${operation.min_credits}`,
      operation.max_credits === null ? '' : `max ${operation.max_credits}`,
    ]
      .filter(Boolean)
      .join(', ');
    const extras = [
      operation.flat_credits !== '0' ? `+${operation.flat_credits} per run` : '',
      ...Object.entries(operation.add_ons).map(([add_on, credits]) => `${add_on} +${credits}`),
    ]
      .filter(Boolean)
      .join(', ');
    const example = operation.example_cost;
    const own = [
      operation.id,
      operation.name,
      rates(operation.rates, ''),
      extras,
      limits,
      example ? example.credits : '—',
      example ? `${example.money.currency} ${example.money.amount}` : '—',
    ];
    const models = operation.models.map((model) => [
      `  ${model.id}`,
      '',
      rates(model.rates, ''),
      model.flat_credits ? `+${model.flat_credits} per run` : '',
      '',
      '',
      '',
    ]);
    return [own, ...models];
  });
  lines.push(
    ...columns(
      ['operation', 'name', 'credits per unit', 'fees and add-ons', 'limits', 'example', 'money'],
      rows,
      new Set([5, 6]),
    ),
  );
  return lines;
}

/** The packs on sale: credits, bonus, price, unit price and discount per currency, and the volume breakpoints. */
export function renderPacks(packs: PackListView): string[] {
  if (packs.data.length === 0) return [];
  const rows = packs.data.flatMap((pack) => {
    const bonus = pack.bonus
      ? `+${pack.bonus.credits} ${pack.bonus.kind}${pack.bonus.expires_after_days === null ? '' : ` (${pack.bonus.expires_after_days} days)`}`
      : '';
    const own = pack.prices.map((price, index) => [
      index === 0 ? pack.id : '',
      index === 0 ? pack.name : '',
      index === 0 ? pack.credits : '',
      index === 0 ? bonus : '',
      `${price.currency} ${price.amount}`,
      price.unit_price,
      pack.base ? 'base' : `${price.discount_percent} %`,
    ]);
    const tiers = pack.volume_tiers.flatMap((tier) =>
      tier.prices.map((price) => [
        '',
        `  from ${tier.from_quantity}`,
        '',
        '',
        `${price.currency} ${price.amount} each`,
        price.unit_price,
        `${price.discount_percent} %`,
      ]),
    );
    return [...own, ...tiers];
  });
  return [
    '',
    `Credit packs (terms ${packs.version}; discounts against the base pack, rounded down)`,
    '',
    ...columns(
      ['pack', 'name', 'credits', 'bonus', 'price', 'per credit', 'discount'],
      rows,
      new Set([2, 5, 6]),
    ),
  ];
}
