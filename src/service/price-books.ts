/**
 * Price book versions. A version is stored when first seen and never changes afterwards:
 * starting Tally with a configuration whose version number is taken by different prices is
 * refused. Reservations lock the version in force when they are made; settlement prices with it.
 */
import { ConfigError, compilePriceBook, type PriceBook } from '../schema/config.ts';
import type { StoreTransaction } from '../store/store.ts';
import { canonicalJson } from './idempotency.ts';

export class PriceBooks {
  private readonly versions = new Map<number, PriceBook>();

  /** Registers the configuration's version, or checks it equals the one already stored. */
  async register(
    transaction: StoreTransaction,
    document: unknown,
    book: PriceBook,
    now_ms: number,
  ): Promise<void> {
    const document_json = canonicalJson(document);
    const stored = await transaction.getPriceVersion(book.version);
    if (stored && stored.document_json !== document_json) {
      throw new ConfigError(
        `price book version ${book.version} is already published with other prices; publish the change as a new version`,
      );
    }
    if (!stored) {
      await transaction.insertPriceVersion({
        version: book.version,
        effective_at_ms: book.effective_at_ms,
        document_json,
        created_at_ms: now_ms,
      });
    }
    this.versions.set(book.version, book);
  }

  /** A version by number, compiled from the store the first time it is needed. */
  async get(transaction: StoreTransaction, version: number): Promise<PriceBook | undefined> {
    const cached = this.versions.get(version);
    if (cached) return cached;
    const stored = await transaction.getPriceVersion(version);
    if (!stored) return undefined;
    const book = compilePriceBook(JSON.parse(stored.document_json));
    this.versions.set(version, book);
    return book;
  }

  /** The latest registered version whose effective time has come. */
  inForceAt(now_ms: number): PriceBook {
    let in_force: PriceBook | undefined;
    for (const book of this.versions.values()) {
      if (book.effective_at_ms <= now_ms && (!in_force || book.version > in_force.version)) in_force = book;
    }
    if (!in_force) throw new ConfigError('no price book version is in force yet');
    return in_force;
  }
}
