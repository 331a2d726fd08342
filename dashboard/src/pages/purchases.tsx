/**
 * Buying credits (seed 002's "Easy Top-Up", seed 001's "clear volume discount breakpoints …
 * without pressure tactics"): the packs with their price per credit and discount, the cost in
 * money and credits before paying, auto-recharge with its monthly ceiling, and receipts. The
 * console's part: every purchase, a manual confirmation, refunds, and the providers' inbox.
 */
import { useState } from 'react';
import type { TallyClient } from '../api.ts';
import { Card, Empty, ErrorBox, Field, useLoad } from '../components.tsx';
import { credits, dateTime, money, timesQuantity } from '../format.ts';

type Packs = Awaited<ReturnType<TallyClient['packs']>>;
type Pack = Packs['data'][number];
type Purchase = Awaited<ReturnType<TallyClient['getPurchase']>>;

/** A pack's price for `quantity` in `currency`, at the volume tier that quantity reaches. */
function priceAt(pack: Pack, currency: string, quantity: number) {
  let price = pack.prices.find((candidate) => candidate.currency === currency);
  for (const tier of pack.volume_tiers) {
    const tier_price = tier.prices.find((candidate) => candidate.currency === currency);
    if (tier.from_quantity <= quantity && tier_price) price = tier_price;
  }
  return price;
}

const STATUS_WORDS: Record<Purchase['status'], string> = {
  pending: 'waiting for payment',
  paid: 'paid',
  failed: 'failed',
  expired: 'expired unpaid',
  refunded: 'refunded',
  partially_refunded: 'partly refunded',
};

export function BuyCreditsCard(props: { client: TallyClient; account: string; onBought: () => void }) {
  const packs = useLoad(() => props.client.packs(), []);
  const [chosen, setChosen] = useState('');
  const [quantity, setQuantity] = useState(1);
  const [result, setResult] = useState<Purchase>();
  const [error, setError] = useState<unknown>();
  const list = packs.value?.data ?? [];
  if (packs.value && list.length === 0) return null;
  const pack = list.find((candidate) => candidate.id === chosen) ?? list[0];
  const currency = packs.value?.credit_value.currency ?? 'USD';
  const price = pack && priceAt(pack, currency, quantity);
  const buy = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!pack) return;
    setError(undefined);
    try {
      const bought = await props.client.purchase({
        account: props.account,
        pack: pack.id,
        quantity,
        packs_version: packs.value!.version,
      });
      // Stripe takes the payment on its own page; the test and manual providers answer here.
      if (bought.checkout_url) window.location.assign(bought.checkout_url);
      setResult(bought);
      props.onBought();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <Card title="Buy credits" id="buy-credits">
      <p className="muted">
        1 credit = {currency} {packs.value?.credit_value.amount_per_credit} · bought credits never expire
        unless a pack says so · discounts are against the {list[0]?.name} pack, rounded down
      </p>
      <table className="packs">
        <thead>
          <tr>
            <th scope="col">Pack</th>
            <th scope="col">Credits</th>
            <th scope="col">Price</th>
            <th scope="col">Per credit</th>
            <th scope="col">Discount</th>
          </tr>
        </thead>
        <tbody>
          {list.map((candidate) => {
            const own = candidate.prices.find((each) => each.currency === currency);
            return (
              <tr key={candidate.id} data-pack={candidate.id}>
                <th scope="row">{candidate.name}</th>
                <td>
                  {credits(candidate.credits)}
                  {candidate.bonus ? (
                    <small>
                      {' '}
                      + {credits(candidate.bonus.credits)} {candidate.bonus.kind}
                      {candidate.bonus.expires_after_days === null
                        ? ', never expires'
                        : `, expires after ${candidate.bonus.expires_after_days} days`}
                    </small>
                  ) : null}
                </td>
                <td>{own ? money(own) : '—'}</td>
                <td>{own?.unit_price ?? '—'}</td>
                <td>
                  {candidate.base ? 'base' : `${own?.discount_percent ?? '0'} %`}
                  {candidate.volume_tiers.map((tier) => {
                    const tier_price = tier.prices.find((each) => each.currency === currency);
                    return tier_price ? (
                      <small key={tier.from_quantity}>
                        {' '}
                        · from {tier.from_quantity}: {money(tier_price)} each ({tier_price.discount_percent}{' '}
                        %)
                      </small>
                    ) : null;
                  })}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <form className="buy" onSubmit={buy}>
        <Field label="Pack">
          <select value={pack?.id ?? ''} onChange={(event) => setChosen(event.target.value)}>
            {list.map((candidate) => (
              <option key={candidate.id} value={candidate.id}>
                {candidate.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Quantity">
          <input
            type="number"
            min={1}
            max={100}
            value={quantity}
            onChange={(event) => setQuantity(Math.max(1, Number(event.target.value) || 1))}
          />
        </Field>
        {pack && price ? (
          <p data-testid="purchase-summary">
            You pay <strong>{money({ currency, amount: timesQuantity(price.amount, quantity) })}</strong> for{' '}
            <strong>{credits(timesQuantity(pack.credits, quantity))} credits</strong>
            {pack.bonus
              ? ` + ${credits(timesQuantity(pack.bonus.credits, quantity))} ${pack.bonus.kind}`
              : ''}
            .
          </p>
        ) : null}
        <button type="submit">Buy</button>
      </form>
      <ErrorBox error={error} />
      {result ? (
        <p role="status" data-testid="purchase-result">
          {result.status === 'paid'
            ? `Added ${credits(result.credits)} credits${result.bonus_credits !== '0' ? ` and ${credits(result.bonus_credits)} bonus` : ''}.`
            : `Purchase ${STATUS_WORDS[result.status]}${result.failure ? `: ${result.failure}` : ''}.`}
        </p>
      ) : null}
    </Card>
  );
}

export function AutoRechargeCard(props: { client: TallyClient; account: string; onSaved: () => void }) {
  const settings = useLoad(() => props.client.autoRecharge(props.account), [props.account]);
  const packs = useLoad(() => props.client.packs(), []);
  const [enabled, setEnabled] = useState(true);
  const [threshold, setThreshold] = useState('');
  const [pack, setPack] = useState('');
  const [ceiling, setCeiling] = useState('');
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState('');
  if (packs.value && packs.value.data.length === 0) return null;
  const current = settings.value;
  const save = async (event: React.FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      await props.client.setAutoRecharge(props.account, {
        enabled,
        threshold: threshold || current?.threshold || '0',
        ...(pack ? { pack } : current?.pack ? { pack: current.pack } : {}),
        ...(ceiling
          ? { monthly_max: ceiling }
          : current?.monthly_max
            ? { monthly_max: current.monthly_max }
            : {}),
      });
      setSaved('Saved.');
      settings.reload();
      props.onSaved();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <Card title="Auto-recharge" id="auto-recharge">
      {current ? (
        <p data-testid="auto-recharge-state">
          {current.enabled && current.status === 'active'
            ? `On: below ${credits(current.threshold)} credits, one ${current.pack ?? 'pack'} is bought`
            : current.enabled
              ? `Stopped (${current.status}): ${current.status_reason ?? ''}. Save to resume.`
              : 'Off.'}
          {current.monthly_max
            ? ` · at most ${credits(current.monthly_max)} credits a month (${credits(current.bought_this_month)} so far)`
            : ''}
        </p>
      ) : (
        <Empty>Off. Switch it on to top up by itself when your balance runs low.</Empty>
      )}
      <form className="settings" onSubmit={save}>
        <Field label="Recharge automatically">
          <input type="checkbox" checked={enabled} onChange={(event) => setEnabled(event.target.checked)} />
        </Field>
        <Field label="When my balance falls below (credits)">
          <input
            inputMode="decimal"
            value={threshold}
            onChange={(event) => setThreshold(event.target.value)}
          />
        </Field>
        <Field label="Buy">
          <select value={pack} onChange={(event) => setPack(event.target.value)}>
            <option value="">the smallest pack that is enough</option>
            {packs.value?.data.map((candidate) => (
              <option key={candidate.id} value={candidate.id}>
                {candidate.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="At most per month (credits)" hint="no more than this, whatever happens">
          <input inputMode="decimal" value={ceiling} onChange={(event) => setCeiling(event.target.value)} />
        </Field>
        <button type="submit">Save auto-recharge</button>
      </form>
      <ErrorBox error={error ?? settings.error} />
      {saved ? <p role="status">{saved}</p> : null}
    </Card>
  );
}

export function PurchaseHistoryCard(props: {
  client: TallyClient;
  account: string;
  timezone: string;
  version: unknown;
}) {
  const purchases = useLoad(
    () => props.client.accountPurchases(props.account),
    [props.account, props.version],
  );
  const rows = purchases.value?.data ?? [];
  return (
    <Card title="Purchases" id="purchases">
      <ErrorBox error={purchases.error} />
      {rows.length === 0 ? (
        <Empty>No purchases yet.</Empty>
      ) : (
        <table className="purchases">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Pack</th>
              <th scope="col">Credits</th>
              <th scope="col">Paid</th>
              <th scope="col">Status</th>
              <th scope="col">Receipt</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((purchase) => (
              <tr key={purchase.id} data-purchase={purchase.id}>
                <td>{dateTime(purchase.created_at, props.timezone)}</td>
                <td>
                  {purchase.quantity > 1 ? `${purchase.quantity} × ` : ''}
                  {purchase.pack_name}
                  {purchase.auto_recharge ? <small> · auto-recharge</small> : null}
                </td>
                <td>
                  {credits(purchase.credits)}
                  {purchase.bonus_credits !== '0' ? (
                    <small> + {credits(purchase.bonus_credits)} bonus</small>
                  ) : null}
                </td>
                <td>{money(purchase.price)}</td>
                <td className={purchase.status}>{STATUS_WORDS[purchase.status]}</td>
                <td>
                  <details>
                    <summary>Receipt</summary>
                    <dl className="receipt">
                      <dt>Purchase</dt>
                      <dd>{purchase.id}</dd>
                      <dt>Paid with</dt>
                      <dd>{purchase.provider}</dd>
                      {purchase.paid_at ? (
                        <>
                          <dt>Paid at</dt>
                          <dd>{dateTime(purchase.paid_at, props.timezone)}</dd>
                        </>
                      ) : null}
                      {purchase.refunds.map((refund) => (
                        <div key={refund.id}>
                          <dt>Refunded</dt>
                          <dd>
                            {money(refund.amount)}: {credits(refund.clawed_back)} credits taken back (
                            {refund.reason})
                          </dd>
                        </div>
                      ))}
                    </dl>
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

// ── Console ──────────────────────────────────────────────────────────────────────────────

export function ConsolePurchasesCard(props: { client: TallyClient }) {
  const purchases = useLoad(() => props.client.allPurchases(), []);
  const [error, setError] = useState<unknown>();
  const [refunding, setRefunding] = useState<{ id: string; amount: string; reason: string }>();
  const act = async (action: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await action();
      purchases.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  const rows = purchases.value?.data ?? [];
  return (
    <Card title="Purchases" id="console-purchases">
      <ErrorBox error={error ?? purchases.error} />
      {rows.length === 0 ? (
        <Empty>No purchases yet.</Empty>
      ) : (
        <table className="purchases">
          <thead>
            <tr>
              <th scope="col">Account</th>
              <th scope="col">Pack</th>
              <th scope="col">Paid</th>
              <th scope="col">Provider</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((purchase) => (
              <tr key={purchase.id} data-purchase={purchase.id}>
                <td>{purchase.account}</td>
                <td>
                  {purchase.quantity} × {purchase.pack_name} ({credits(purchase.credits)} credits)
                </td>
                <td>{money(purchase.price)}</td>
                <td>{purchase.provider}</td>
                <td className={purchase.status}>{STATUS_WORDS[purchase.status]}</td>
                <td>
                  {purchase.status === 'pending' && purchase.provider === 'manual' ? (
                    <button
                      type="button"
                      onClick={() =>
                        act(() => props.client.confirmPurchase(purchase.id, { reference: 'console' }))
                      }
                    >
                      Confirm payment
                    </button>
                  ) : null}
                  {purchase.status === 'paid' || purchase.status === 'partially_refunded' ? (
                    <button
                      type="button"
                      onClick={() => setRefunding({ id: purchase.id, amount: '', reason: '' })}
                    >
                      Refund
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {refunding ? (
        <form
          className="refund"
          onSubmit={(event) => {
            event.preventDefault();
            void act(async () => {
              await props.client.refundPurchase(refunding.id, {
                ...(refunding.amount ? { amount: refunding.amount } : {}),
                reason: refunding.reason,
              });
              setRefunding(undefined);
            });
          }}
        >
          <Field label="Refund amount (money; empty: all that is left)">
            <input
              inputMode="decimal"
              value={refunding.amount}
              onChange={(event) => setRefunding({ ...refunding, amount: event.target.value })}
            />
          </Field>
          <Field label="Reason">
            <input
              required
              value={refunding.reason}
              onChange={(event) => setRefunding({ ...refunding, reason: event.target.value })}
            />
          </Field>
          <button type="submit">Refund {refunding.id}</button>
        </form>
      ) : null}
    </Card>
  );
}

export function ProviderInboxCard(props: { client: TallyClient }) {
  const events = useLoad(() => props.client.providerEvents(), []);
  const rows = events.value?.data ?? [];
  return (
    <Card title="Payment provider events" id="provider-events">
      <ErrorBox error={events.error} />
      {rows.length === 0 ? (
        <Empty>No provider events received yet.</Empty>
      ) : (
        <table className="provider-events">
          <thead>
            <tr>
              <th scope="col">Received</th>
              <th scope="col">Provider</th>
              <th scope="col">Event</th>
              <th scope="col">Purchase</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((event) => (
              <tr key={`${event.provider}:${event.id}`}>
                <td>{dateTime(event.received_at, 'UTC')}</td>
                <td>{event.provider}</td>
                <td>
                  {event.type} <small>{event.id}</small>
                </td>
                <td>{event.purchase ?? '—'}</td>
                <td>{event.outcome}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
