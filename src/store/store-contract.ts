/**
 * The store contract: one suite every store adapter runs unchanged (STYLE rule 9), in a file per
 * capability under contract/ (as the store interface is split, store.ts). An adapter's test file
 * calls `describeStoreContract` with a factory that opens a fresh, empty store; a new capability
 * adds its interface to store.ts and its part of the suite here.
 */
import { afterEach, beforeEach, describe } from 'vitest';
import { accessContract } from './contract/access.ts';
import { accountsContract } from './contract/accounts.ts';
import { configurationContract } from './contract/configuration.ts';
import { creatorsContract } from './contract/creators.ts';
import { eventsContract } from './contract/events.ts';
import { grantsContract } from './contract/grants.ts';
import { idempotencyContract } from './contract/idempotency.ts';
import { journalContract } from './contract/journal.ts';
import { plansContract } from './contract/plans.ts';
import { priceBookContract } from './contract/price-book.ts';
import { purchasesContract } from './contract/purchases.ts';
import { runsContract } from './contract/runs.ts';
import { supportContract } from './contract/support.ts';
import { teamsContract } from './contract/teams.ts';
import { transactionsContract } from './contract/transactions.ts';
import type { SpendBucketRow, Store } from './store.ts';

export {
  ACCOUNT_A_INSERT,
  accountRow,
  CHARGES_BEFORE_SPEND_BUCKETS,
  chargesBeforeSpendBuckets,
  grantRow,
  journalFromBeforeLinesMoved,
  RESERVATIONS_BEFORE_KEYED_BY_TIME,
  reservationsBeforeKeyedByTime,
} from './contract/fixtures.ts';
/** A spend bucket as the migration tests compare them. */
export const bucketText = (bucket: SpendBucketRow) =>
  `${bucket.start_ms}/${bucket.member}/${bucket.project}/${bucket.api_key_id}/${bucket.kind}=${bucket.spent_micros}`;

export function describeStoreContract(name: string, openStore: () => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await openStore();
    });
    afterEach(async () => {
      await store.close();
    });

    transactionsContract(() => store);
    accountsContract(() => store);
    grantsContract(() => store);
    journalContract(() => store);
    runsContract(() => store);
    idempotencyContract(() => store);
    accessContract(() => store);
    configurationContract(() => store);
    purchasesContract(() => store);
    creatorsContract(() => store);
    teamsContract(() => store);
    supportContract(() => store);
    eventsContract(() => store);
    plansContract(() => store);
    priceBookContract(() => store);
  });
}
