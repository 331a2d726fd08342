/** How every list is cut into pages: the store reads one row over the page, and the last row names the next. */
import { PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX } from '../../domain/limits.ts';
import { TallyError } from '../../domain/results.ts';

/** A page of a list, as every listing answers it. */
export interface Page<Item> {
  data: Item[];
  next_cursor: string | null;
}

/** Rows a page holds: what was asked, within 1..PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT when unasked. */
export const pageSize = (asked: number | undefined): number =>
  Math.min(Math.max(asked ?? PAGE_SIZE_DEFAULT, 1), PAGE_SIZE_MAX);

/** The first `limit` of rows read one over the limit, and the cursor of the next page if there is one. */
export function pageOf<Row>(
  rows: readonly Row[],
  limit: number,
  cursorOf: (row: Row) => string,
): { page: Row[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  return { page, next_cursor: rows.length > limit ? cursorOf(page.at(-1)!) : null };
}

/** A cursor that is a number this API gave (a price book version): anything else is refused. */
export function decodeNumberCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  if (/^[0-9]{1,15}$/.test(cursor)) return Number(cursor);
  throw new TallyError('invalid_request', 'the cursor is not one this API gave', {
    errors: [{ field: 'cursor', code: 'invalid_request', message: 'is not a cursor from next_cursor' }],
  });
}
