/**
 * Price book versions, kept in the store so that every Tally process sharing it agrees on the
 * version in force. A version never changes once stored: starting Tally with a configuration
 * whose version number is taken by other prices is refused, and publishing always adds a new
 * version. Reservations lock the version in force when made; settlement prices with it.
 */
import { TallyError } from '../domain/results.ts';
import {
  ConfigError,
  compilePriceBook,
  type PriceBook,
  type PriceBookDocument,
  priceBookDocument,
} from '../schema/config.ts';
import type { PriceVersionRow, StoreTransaction } from '../store/store.ts';
import { canonicalJson } from './idempotency.ts';

export class PriceBooks {
  /** Compiled versions; safe to cache forever because a version never changes. */
  private readonly compiled = new Map<number, PriceBook>();

  private compile(row: PriceVersionRow): PriceBook {
    let book = this.compiled.get(row.version);
    if (!book) {
      book = compilePriceBook(JSON.parse(row.document_json) as PriceBookDocument);
      this.compiled.set(row.version, book);
    }
    return book;
  }

  /** Stores the configuration's version, or checks it equals the one already stored. */
  async register(transaction: StoreTransaction, document: PriceBookDocument, now_ms: number): Promise<void> {
    const document_json = canonicalJson(document);
    const stored = await transaction.getPriceVersion(document.version);
    if (stored && stored.document_json !== document_json) {
      throw new ConfigError(
        `price book version ${document.version} is already published with other prices; give the change a new version number`,
      );
    }
    if (!stored) await this.insert(transaction, document, now_ms);
  }

  /**
   * Publishes a new version: numbered after the latest unless given (and then above it),
   * effective now unless a later time is given, valued like the latest unless it says otherwise.
   */
  async publish(transaction: StoreTransaction, input: unknown, now_ms: number): Promise<PriceBook> {
    const latest = await transaction.getLatestPriceVersion();
    const latest_document = latest && (JSON.parse(latest.document_json) as PriceBookDocument);
    const requested = (input as { version?: unknown; effective_at?: unknown } | null) ?? {};
    let document: PriceBookDocument;
    try {
      document = priceBookDocument(input, {
        version: (latest?.version ?? 0) + 1,
        effective_at: new Date(now_ms).toISOString(),
        credit_value: latest_document?.credit_value ?? { currency: 'USD', amount_minor_per_credit: '1' },
      });
    } catch (error) {
      if (error instanceof ConfigError) throw new TallyError('price_book_invalid', error.message);
      throw error;
    }
    if (typeof requested.version === 'number' && latest && requested.version <= latest.version) {
      throw new TallyError(
        'price_version_exists',
        `version ${requested.version} exists; the latest is ${latest.version}`,
      );
    }
    if (Date.parse(document.effective_at) < now_ms) {
      throw new TallyError(
        'price_book_invalid',
        'effective_at may not be in the past: published prices never apply retroactively',
      );
    }
    return this.insert(transaction, document, now_ms);
  }

  private async insert(
    transaction: StoreTransaction,
    document: PriceBookDocument,
    now_ms: number,
  ): Promise<PriceBook> {
    const row = {
      version: document.version,
      effective_at_ms: Date.parse(document.effective_at),
      document_json: canonicalJson(document),
      created_at_ms: now_ms,
    };
    await transaction.insertPriceVersion(row);
    return this.compile(row);
  }

  async get(transaction: StoreTransaction, version: number): Promise<PriceBook> {
    const cached = this.compiled.get(version);
    if (cached) return cached;
    const row = await transaction.getPriceVersion(version);
    if (!row) throw new TallyError('price_version_not_found', `no price book version ${version}`);
    return this.compile(row);
  }

  /** A version already compiled, with no read (a version never changes); undefined if not yet. */
  compiledVersion(version: number): PriceBook | undefined {
    return this.compiled.get(version);
  }

  async inForceAt(transaction: StoreTransaction, now_ms: number): Promise<PriceBook> {
    const row = await transaction.getPriceVersionInForce(now_ms);
    if (!row) throw notInForceYet();
    return this.compile(row);
  }

  /** The book of a version found in force (by an account session); null: none is in force yet. */
  async ofVersionInForce(transaction: StoreTransaction, version: number | null): Promise<PriceBook> {
    if (version === null) throw notInForceYet();
    return this.get(transaction, version);
  }
}

function notInForceYet(): TallyError {
  return new TallyError('price_version_not_found', 'no price book version is in force yet');
}
