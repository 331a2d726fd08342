/**
 * The operator console: find an account and see its grants, reservations, charges and events;
 * grant, revoke, refund; a team's members; purchases (confirm, refund) and the payment providers'
 * inbox; creators with their statements and payouts; the price
 * book and its versions; plans; webhooks with their delivery log; the audit trail.
 */
import { useState } from 'react';
import { describeError, type TallyClient } from '../api.ts';
import { Amount, Card, Empty, ErrorBox, Field, ItemList, useLoad } from '../components.tsx';
import { credits, dateTime, microCredits } from '../format.ts';
import { Link, navigate } from '../router.tsx';
import { ConsoleCreators, TeamMembersCard } from './creators.tsx';
import { PriceTable } from './prices.tsx';
import { ConsolePurchasesCard, ProviderInboxCard } from './purchases.tsx';
import { ConsoleAnalytics, ThreadReview } from './support.tsx';

export function Console(props: { client: TallyClient; path: string }) {
  const account = /^\/console\/accounts\/([^/]+)/.exec(props.path)?.[1];
  const section = props.path.split('/')[2] ?? 'accounts';
  return (
    <>
      <nav className="subnav" aria-label="Console">
        {[
          'accounts',
          'purchases',
          'creators',
          'analytics',
          'review',
          'prices',
          'plans',
          'webhooks',
          'audit',
        ].map((name) => (
          <Link key={name} to={`/console/${name}`} current={section === name}>
            {name[0]!.toUpperCase() + name.slice(1)}
          </Link>
        ))}
      </nav>
      {account ? <AccountDetail client={props.client} account={decodeURIComponent(account)} /> : null}
      {!account && section === 'accounts' ? <Accounts client={props.client} /> : null}
      {section === 'purchases' ? (
        <>
          <ConsolePurchasesCard client={props.client} />
          <ProviderInboxCard client={props.client} />
        </>
      ) : null}
      {section === 'creators' ? <ConsoleCreators client={props.client} /> : null}
      {section === 'analytics' ? <ConsoleAnalytics client={props.client} /> : null}
      {section === 'review' ? <ThreadReview client={props.client} /> : null}
      {section === 'prices' ? <Prices client={props.client} /> : null}
      {section === 'plans' ? <Plans client={props.client} /> : null}
      {section === 'webhooks' ? <Webhooks client={props.client} /> : null}
      {section === 'audit' ? <Audit client={props.client} /> : null}
    </>
  );
}

function Accounts(props: { client: TallyClient }) {
  const [prefix, setPrefix] = useState('');
  const [query, setQuery] = useState('');
  const accounts = useLoad(() => props.client.accounts({ prefix: query, limit: 50 }), [query]);
  return (
    <Card title="Accounts">
      <form
        className="inline"
        aria-label="Find accounts"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery(prefix);
        }}
      >
        <Field label="Account id starts with">
          <input value={prefix} onChange={(event) => setPrefix(event.target.value)} />
        </Field>
        <button type="submit">Find</button>
      </form>
      <ErrorBox error={accounts.error} />
      {accounts.value?.data.length === 0 ? <Empty>No account starts with “{query}”.</Empty> : null}
      <ul className="accounts">
        {accounts.value?.data.map((account) => (
          <li key={account.id}>
            <Link to={`/console/accounts/${encodeURIComponent(account.id)}`}>{account.id}</Link>{' '}
            <small>
              {account.kind}, {account.timezone}
            </small>
          </li>
        ))}
      </ul>
    </Card>
  );
}

function AccountDetail(props: { client: TallyClient; account: string }) {
  const { client, account } = props;
  const details = useLoad(() => client.account(account), [account]);
  const balance = useLoad(() => client.balance(account), [account]);
  const charges = useLoad(() => client.charges({ account, limit: 50 }), [account]);
  const reservations = useLoad(() => client.reservations(account), [account]);
  const events = useLoad(() => client.events({ account, limit: 50 }), [account]);
  const [error, setError] = useState<unknown>();
  const timezone = details.value?.timezone ?? 'UTC';
  const reload = () => {
    balance.reload();
    charges.reload();
    events.reload();
  };
  const act = async (action: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await action();
      reload();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <>
      <p>
        <Link to="/console/accounts">← all accounts</Link>
      </p>
      <Card title={`Account ${account}`} id="account">
        <ErrorBox error={details.error ?? balance.error ?? error} />
        {balance.value ? (
          <p className="headline" data-testid="console-available">
            {credits(balance.value.available)} <span>credits available</span>
          </p>
        ) : null}
        {details.value?.subscription ? (
          <p>
            Plan <strong>{details.value.subscription.plan}</strong> ({details.value.subscription.status}),
            period ends {dateTime(details.value.subscription.current_period_end, timezone)}
          </p>
        ) : (
          <p className="muted">No subscription.</p>
        )}
        {details.value?.subscription ? <CustomPlan overrides={details.value.subscription.overrides} /> : null}
      </Card>
      {details.value?.kind === 'team' ? <TeamMembersCard client={client} team={account} /> : null}
      <GrantForm
        client={client}
        account={account}
        kinds={Object.keys(balance.value?.by_kind ?? {})}
        onGranted={reload}
      />
      <Card title="Open grants" id="grants">
        <table>
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Remaining / amount</th>
              <th scope="col">Expires</th>
              <th scope="col">Status</th>
              <th scope="col">Reason</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {balance.value?.grants.map((grant) => (
              <tr key={grant.id}>
                <td>{grant.kind}</td>
                <td>
                  {credits(grant.remaining)} / {credits(grant.amount)}
                </td>
                <td>{grant.expires_at ? dateTime(grant.expires_at, timezone) : 'never'}</td>
                <td>{grant.status}</td>
                <td>{grant.reason ?? ''}</td>
                <td>
                  {grant.status === 'active' ? (
                    <AskReason
                      label="Revoke"
                      question={`Why revoke ${credits(grant.remaining)} ${grant.kind} credits?`}
                      onReason={(reason) => act(() => client.revokeGrant(grant.id, { reason }))}
                    />
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <Card title="Charges" id="charges">
        {charges.value?.data.length === 0 ? <Empty>No charges yet.</Empty> : null}
        <table>
          <tbody>
            {charges.value?.data.map((charge) => (
              <tr key={charge.id}>
                <td>{dateTime(charge.created_at, timezone)}</td>
                <td>{charge.operation}</td>
                <td>{charge.outcome}</td>
                <td>
                  <Amount credits={charge.credits} money={charge.money} />
                  {charge.refunded !== '0' ? <small> ({credits(charge.refunded)} refunded)</small> : null}
                </td>
                <td>
                  {charge.credits !== charge.refunded ? (
                    <AskReason
                      label="Refund"
                      question="Reason for the refund (it is issued as non-expiring bonus credits)"
                      onReason={(reason) => act(() => client.refund(charge.id, { reason }))}
                    />
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <Card title="Reservations" id="reservations">
        <ItemList items={reservations.value?.data} empty="No reservations.">
          {(reservation) => (
            <li key={reservation.id}>
              {dateTime(reservation.created_at, timezone)} · {reservation.operation} ·{' '}
              {credits(reservation.amount)} · {reservation.status}
            </li>
          )}
        </ItemList>
      </Card>
      <Card title="Events" id="events">
        <ItemList items={events.value?.data} empty="No events.">
          {(event) => (
            <li key={event.id}>
              {dateTime(event.created_at, timezone)} · <strong>{event.type}</strong>{' '}
              <code>{JSON.stringify(event.data)}</code>
            </li>
          )}
        </ItemList>
      </Card>
    </>
  );
}

/** Grants credits of one of the kinds this Tally is configured with (the balance lists every one). */
/** A custom plan's numbers for this account (PUT …/plan-overrides), as the operator set them. */
function CustomPlan(props: {
  overrides: {
    allowances?: Record<string, string>;
    limits?: Record<string, string>;
    entitlements?: string[];
    prices?: Record<string, string>;
  };
}) {
  const lines = [
    ...Object.entries(props.overrides.allowances ?? {}).map(
      ([id, amount]) => `allowance ${id}: ${microCredits(amount)} credits`,
    ),
    ...Object.entries(props.overrides.limits ?? {}).map(
      ([id, max]) => `limit ${id}: ${microCredits(max)} credits`,
    ),
    ...(props.overrides.entitlements ?? []).map((entitlement) => `entitlement ${entitlement}`),
    ...Object.entries(props.overrides.prices ?? {}).map(
      ([id, factor]) => `${id} at ${factor} × the price book`,
    ),
  ];
  if (lines.length === 0) return null;
  return (
    <div data-testid="custom-plan">
      <h3>Custom plan</h3>
      <ul>
        {lines.map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
    </div>
  );
}

function GrantForm(props: { client: TallyClient; account: string; kinds: string[]; onGranted: () => void }) {
  const [chosen, setKind] = useState<string>();
  const kind = chosen ?? (props.kinds.includes('bonus') ? 'bonus' : (props.kinds.at(-1) ?? ''));
  const [amount, setAmount] = useState('');
  const [expires, setExpires] = useState('');
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState('');
  const [error, setError] = useState<unknown>();
  return (
    <Card title="Grant credits" id="grant">
      <form
        className="inline"
        onSubmit={async (event) => {
          event.preventDefault();
          setError(undefined);
          try {
            const grant = await props.client.issueGrant(props.account, {
              kind,
              amount,
              reason,
              ...(expires ? { expires_at: new Date(expires).toISOString() } : {}),
            });
            setMessage(`Granted ${credits(grant.amount)} ${grant.kind} credits.`);
            setAmount('');
            props.onGranted();
          } catch (failure) {
            setError(failure);
          }
        }}
      >
        <Field label="Kind">
          <select value={kind} onChange={(event) => setKind(event.target.value)}>
            {props.kinds.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </Field>
        <Field label="Amount (credits)">
          <input
            required
            inputMode="decimal"
            value={amount}
            onChange={(event) => setAmount(event.target.value)}
          />
        </Field>
        <Field label="Expires (optional)">
          <input type="datetime-local" value={expires} onChange={(event) => setExpires(event.target.value)} />
        </Field>
        <Field label="Reason">
          <input required value={reason} onChange={(event) => setReason(event.target.value)} />
        </Field>
        <button type="submit">Grant</button>
      </form>
      <ErrorBox error={error} />
      {message ? <p role="status">{message}</p> : null}
    </Card>
  );
}

function Prices(props: { client: TallyClient }) {
  const versions = useLoad(() => props.client.priceVersions(), []);
  return (
    <>
      <Card title="Price book in force">
        <PriceTable client={props.client} />
      </Card>
      <Card title="Versions">
        <ul>
          {versions.value?.data.map((version) => (
            <li key={version.version}>
              Version {version.version}: in force from {version.effective_at}, published{' '}
              {version.published_at}
            </li>
          ))}
        </ul>
      </Card>
    </>
  );
}

function Plans(props: { client: TallyClient }) {
  const plans = useLoad(() => props.client.plans(), []);
  return (
    <Card title="Plans">
      <ItemList items={plans.value?.data} empty="No plans in the configuration.">
        {(plan) => (
          <li key={plan.id}>
            <strong>{plan.name}</strong> — {plan.price.currency} {(plan.price.amount_minor / 100).toFixed(2)},
            rank {plan.rank}:{' '}
            {plan.allowances
              .map(
                (allowance) =>
                  `${credits(allowance.amount)} ${allowance.kind} per ${allowance.period.replace('_', ' ')}`,
              )
              .join(', ') || 'no allowances'}
            {plan.entitlements.length ? `; unlocks ${plan.entitlements.join(', ')}` : ''}
          </li>
        )}
      </ItemList>
    </Card>
  );
}

function Webhooks(props: { client: TallyClient }) {
  const endpoints = useLoad(() => props.client.webhookEndpoints(), []);
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<unknown>();
  const [open, setOpen] = useState<string>();
  const deliveries = useLoad(
    async () => (open ? (await props.client.webhookDeliveries(open)).data : []),
    [open],
  );
  return (
    <>
      <Card title="Webhook endpoints">
        <form
          className="inline"
          onSubmit={async (event) => {
            event.preventDefault();
            try {
              const created = await props.client.createWebhookEndpoint({ url, events: ['*'] });
              setSecret(`Signing secret for ${created.url} (shown once): ${created.secret}`);
              endpoints.reload();
            } catch (failure) {
              setError(failure);
            }
          }}
        >
          <Field label="URL">
            <input type="url" required value={url} onChange={(event) => setUrl(event.target.value)} />
          </Field>
          <button type="submit">Add endpoint</button>
        </form>
        <ErrorBox error={error ?? endpoints.error} />
        {secret ? <p role="status">{secret}</p> : null}
        <ul>
          {endpoints.value?.data.map((endpoint) => (
            <li key={endpoint.id}>
              <button type="button" className="link" onClick={() => setOpen(endpoint.id)}>
                {endpoint.url}
              </button>{' '}
              <small>{endpoint.events.join(', ')}</small>
            </li>
          ))}
        </ul>
      </Card>
      {open ? (
        <Card title="Delivery log">
          <ItemList items={deliveries.value} empty="Nothing delivered yet.">
            {(delivery) => (
              <li key={delivery.id}>
                {delivery.event_id} · {delivery.status} · {delivery.attempts.length} attempt(s)
                {delivery.attempts.at(-1)
                  ? ` (last: ${delivery.attempts.at(-1)!.status_code ?? delivery.attempts.at(-1)!.error})`
                  : ''}{' '}
                <button
                  type="button"
                  onClick={async () => {
                    try {
                      await props.client.replayDelivery(delivery.id);
                      deliveries.reload();
                    } catch (failure) {
                      window.alert(describeError(failure));
                    }
                  }}
                >
                  Replay
                </button>
              </li>
            )}
          </ItemList>
        </Card>
      ) : null}
    </>
  );
}

function Audit(props: { client: TallyClient }) {
  const audit = useLoad(() => props.client.audit({ limit: 100 }), []);
  return (
    <Card title="Audit trail">
      {audit.value?.data.length === 0 ? <Empty>No operator actions yet.</Empty> : null}
      <table>
        <tbody>
          {audit.value?.data.map((entry) => (
            <tr key={entry.id}>
              <td>{dateTime(entry.at, 'UTC')} UTC</td>
              <td>{entry.actor}</td>
              <td>{entry.action}</td>
              <td>
                {entry.account ? (
                  <button
                    type="button"
                    className="link"
                    onClick={() => navigate(`/console/accounts/${encodeURIComponent(entry.account!)}`)}
                  >
                    {entry.account}
                  </button>
                ) : null}
              </td>
              <td>
                <code>{JSON.stringify(entry.details)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

/** A button for an action that needs a reason: asks for it, and does nothing without one. */
function AskReason(props: { label: string; question: string; onReason: (reason: string) => unknown }) {
  return (
    <button
      type="button"
      onClick={() => {
        const reason = window.prompt(props.question);
        if (reason) void props.onReason(reason);
      }}
    >
      {props.label}
    </button>
  );
}
