/** The price book (SPEC C4): published versions never change. */
import { publishPriceBookInput } from '../../schema/commands.ts';
import type { PriceBookInput } from '../../schema/config.ts';
import { priceTableView } from '../price-table.ts';
import { command } from './command.ts';

/**
 * Publishes a new price book version (earlier versions never change). It applies from its
 * `effective_at` (default: now) to reservations made from then on.
 */
export const publishPriceBookCommand = command({
  name: 'publish_price_book',
  input: publishPriceBookInput,
  audited: true,
  run: async ({ transaction, now_ms, engine }, book) =>
    priceTableView(await engine.price_books.publish(transaction, book as PriceBookInput, now_ms)),
});
