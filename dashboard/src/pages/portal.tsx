/**
 * The customer portal (seed 002's pattern): the balance first and prominent, what every run
 * will cost before it runs, what is left ("about N more"), the history, and limits the
 * customer sets themselves.
 */
import { useMemo, useState } from 'react';
import type { Session, TallyClient } from '../api.ts';
import { type DailyUsage, UsageChart } from '../chart.tsx';
import { Amount, Card, downloadText, Empty, ErrorBox, Field, Meter, useLoad } from '../components.tsx';
import { credits, date, dateTime, localDay, roughCredits, roughDuration, zoneName } from '../format.ts';
import { EarningsCard, TeamCard } from './creators.tsx';
import { PriceTable } from './prices.tsx';
import { AutoRechargeCard, BuyCreditsCard, PurchaseHistoryCard } from './purchases.tsx';
import { ExpiringNotice, ProjectUsageCard } from './support.tsx';

type Customer = Extract<Session, { kind: 'customer' }>;

export function Portal(props: { session: Customer; client: TallyClient }) {
  const { client, session } = props;
  const account = useLoad(() => client.account(session.account), [session.account]);
  const balance = useLoad(() => client.balance(session.account), [session.account]);
  const timezone = account.value?.timezone ?? 'UTC';
  const refresh = () => {
    balance.reload();
    account.reload();
  };
  return (
    <>
      <ErrorBox error={account.error ?? balance.error} />
      {balance.value && account.value ? (
        <BalanceBanner available={balance.value.available} threshold={account.value.low_balance_threshold} />
      ) : null}
      <ExpiringNotice client={client} account={session.account} timezone={timezone} />
      <div className="grid">
        <BalanceCard client={client} account={session.account} timezone={timezone} balance={balance.value} />
        <RemainingCard client={client} account={session.account} version={balance.value?.available} />
      </div>
      <LimitsCard balance={balance.value} timezone={timezone} />
      <EstimateCard client={client} account={session.account} onRun={refresh} />
      <BuyCreditsCard client={client} account={session.account} onBought={refresh} />
      <HistoryCard client={client} account={session.account} timezone={timezone} />
      <ProjectUsageCard client={client} account={session.account} />
      <PurchaseHistoryCard
        client={client}
        account={session.account}
        timezone={timezone}
        version={balance.value?.available}
      />
      <AutoRechargeCard client={client} account={session.account} onSaved={refresh} />
      {account.value?.kind === 'team' ? (
        <TeamCard client={client} account={session.account} member={session.member} />
      ) : null}
      <EarningsCard client={client} account={session.account} />
      <SettingsCard
        client={client}
        account={session.account}
        threshold={account.value?.low_balance_threshold ?? null}
        onSaved={refresh}
      />
      <Card title="Prices" id="prices">
        <PriceTable client={client} />
      </Card>
    </>
  );
}

function BalanceBanner(props: { available: string; threshold: string | null }) {
  if (Number(props.available) === 0) {
    return (
      <div className="banner out" role="alert" data-testid="out-of-credits">
        <strong>You are out of credits.</strong> Everything that does not use AI keeps working; AI runs are
        paused until credits arrive. Top up, upgrade your plan, or wait for your next allowance.
      </div>
    );
  }
  if (props.threshold !== null && Number(props.available) < Number(props.threshold)) {
    return (
      <div className="banner low" role="status" data-testid="low-balance">
        Your balance is low: {credits(props.available)} credits left, under your alert at{' '}
        {credits(props.threshold)}.
      </div>
    );
  }
  return null;
}

type Balance = Awaited<ReturnType<TallyClient['balance']>>;

function BalanceCard(props: {
  client: TallyClient;
  account: string;
  timezone: string;
  balance: Balance | undefined;
}) {
  const { balance, timezone } = props;
  const expiries = useMemo(() => {
    const by_day = new Map<string, number>();
    for (const grant of balance?.grants ?? []) {
      if (grant.status !== 'active' || grant.expires_at === null || Number(grant.remaining) === 0) continue;
      const day = date(grant.expires_at, timezone);
      by_day.set(day, (by_day.get(day) ?? 0) + Number(grant.remaining));
    }
    return [...by_day.entries()].slice(0, 6);
  }, [balance, timezone]);
  if (!balance) return <Card title="Balance">Loading…</Card>;
  const kinds = Object.entries(balance.by_kind).filter(
    ([, amounts]) => amounts.available !== '0' || amounts.held !== '0' || amounts.unusable !== '0',
  );
  return (
    <Card title="Balance" id="balance">
      <p className="headline" data-testid="available">
        {credits(balance.available)} <span>credits available</span>
      </p>
      {balance.held !== '0' ? (
        <p className="muted">{credits(balance.held)} held for runs in progress</p>
      ) : null}
      {kinds.length === 0 ? (
        <Empty>No credits yet. Top up or wait for your allowance.</Empty>
      ) : (
        <table className="by-kind">
          <caption>By kind, drawn in this order</caption>
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Available</th>
              <th scope="col">Held</th>
              <th scope="col">Unusable</th>
            </tr>
          </thead>
          <tbody>
            {kinds.map(([kind, amounts]) => (
              <tr key={kind} data-kind={kind}>
                <th scope="row">{kind}</th>
                <td>{credits(amounts.available)}</td>
                <td>{credits(amounts.held)}</td>
                <td>
                  {credits(amounts.unusable)}
                  {amounts.unusable !== '0' ? <small> needs an active subscription</small> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {expiries.length > 0 ? (
        <ul className="expiries" aria-label="Expiry schedule">
          {expiries.map(([day, amount]) => (
            <li key={day}>
              {credits(String(amount))} credits expire on {day}
            </li>
          ))}
        </ul>
      ) : null}
    </Card>
  );
}

function RemainingCard(props: { client: TallyClient; account: string; version: string | undefined }) {
  const remaining = useLoad(() => props.client.remaining(props.account), [props.account, props.version]);
  const rows = (remaining.value?.operations ?? []).filter((operation) => operation.runs_affordable !== null);
  return (
    <Card title="About how many more" id="remaining">
      <ErrorBox error={remaining.error} />
      {rows.length === 0 ? (
        <Empty>Nothing priced yet.</Empty>
      ) : (
        <ul className="remaining">
          {rows.map((operation) => (
            <li key={operation.id}>
              <strong>about {operation.runs_affordable!.toLocaleString('en-US')}</strong> more{' '}
              {operation.name}{' '}
              <small>
                at {credits(operation.typical_cost)} credits each (
                {operation.usage_basis === 'history' ? 'your typical run' : 'a typical run'})
              </small>
            </li>
          ))}
        </ul>
      )}
      {remaining.value?.runway_days ? (
        <p className="muted">
          At your last 7 days' pace (about {roughCredits(remaining.value.burn_per_day)} credits a day) your
          credits last {roughDuration(remaining.value.runway_days)}.
        </p>
      ) : null}
    </Card>
  );
}

function LimitsCard(props: { balance: Balance | undefined; timezone: string }) {
  const limits = props.balance?.limits ?? [];
  return (
    <Card title="Limits" id="limits">
      {limits.length === 0 ? (
        <Empty>No limits on this account.</Empty>
      ) : (
        <ul className="limits">
          {limits.map((limit) => (
            <li key={limit.id} data-limit={limit.id}>
              <span>
                <strong>{limit.id}</strong> {limit.kinds ? `(${limit.kinds.join(', ')} credits)` : ''}:{' '}
                {credits(limit.used)} of {credits(limit.max)} used this {limit.window.replace('_', ' ')}
              </span>
              <Meter used={limit.used} max={limit.max} label={`${limit.id} used`} />
              <small>
                {limit.resets_at
                  ? `resets ${dateTime(limit.resets_at, props.timezone)} ${zoneName(props.timezone, limit.resets_at)}`
                  : 'rolling window'}
              </small>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function EstimateCard(props: { client: TallyClient; account: string; onRun: () => void }) {
  const prices = useLoad(() => props.client.prices(), []);
  const [operation_id, setOperation] = useState('');
  const [model, setModel] = useState('');
  const [usage, setUsage] = useState<Record<string, string>>({});
  const [input_text, setInputText] = useState('');
  const [max_output, setMaxOutput] = useState('');
  const [result, setResult] = useState<Awaited<ReturnType<TallyClient['estimate']>>>();
  const [error, setError] = useState<unknown>();
  const operation =
    prices.value?.operations.find((candidate) => candidate.id === operation_id) ??
    prices.value?.operations[0];
  const dimensions = operation
    ? [
        ...new Set([
          ...Object.keys(operation.rates),
          ...operation.models.flatMap((entry) => Object.keys(entry.rates)),
        ]),
      ]
    : [];
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!operation) return;
    setError(undefined);
    const given = Object.fromEntries(
      Object.entries(usage).filter(([dimension, value]) => value !== '' && dimensions.includes(dimension)),
    );
    try {
      setResult(
        await props.client.estimate({
          account: props.account,
          operation: operation.id,
          ...(model
            ? { model }
            : operation.models.length > 0 && operation.rates && Object.keys(operation.rates).length === 0
              ? { model: operation.models[0]!.id }
              : {}),
          ...(input_text
            ? { input_text, ...(max_output ? { max_output_tokens: Number(max_output) } : {}) }
            : {}),
          ...(Object.keys(given).length > 0 ? { usage: given } : {}),
        }),
      );
    } catch (failure) {
      setResult(undefined);
      setError(failure);
    }
  };
  return (
    <Card title="What will it cost?" id="estimate">
      <form className="estimate" onSubmit={submit}>
        <Field label="Operation">
          <select
            value={operation?.id ?? ''}
            onChange={(event) => {
              setOperation(event.target.value);
              setModel('');
              setResult(undefined);
            }}
          >
            {prices.value?.operations.map((candidate) => (
              <option key={candidate.id} value={candidate.id}>
                {candidate.name}
              </option>
            ))}
          </select>
        </Field>
        {operation && operation.models.length > 0 ? (
          <Field label="Model">
            <select value={model} onChange={(event) => setModel(event.target.value)}>
              <option value="">
                {Object.keys(operation.rates).length > 0 ? 'Default' : operation.models[0]!.id}
              </option>
              {operation.models.map((entry) => (
                <option key={entry.id} value={entry.id}>
                  {entry.id}
                </option>
              ))}
            </select>
          </Field>
        ) : null}
        {dimensions.map((dimension) => (
          <Field key={dimension} label={dimension.replace(/_/g, ' ')}>
            <input
              inputMode="decimal"
              value={usage[dimension] ?? ''}
              placeholder={operation?.example_usage[dimension] ?? ''}
              onChange={(event) => setUsage({ ...usage, [dimension]: event.target.value })}
            />
          </Field>
        ))}
        {dimensions.includes('input_tokens') ? (
          <>
            <Field label="Or paste your input" hint="Tokens are counted for you">
              <textarea rows={3} value={input_text} onChange={(event) => setInputText(event.target.value)} />
            </Field>
            <Field label="Longest answer (tokens)">
              <input
                inputMode="numeric"
                value={max_output}
                onChange={(event) => setMaxOutput(event.target.value)}
              />
            </Field>
          </>
        ) : null}
        <button type="submit">Estimate</button>
      </form>
      <ErrorBox error={error} />
      {result ? (
        <div className="estimate-result" data-testid="estimate-result" aria-live="polite">
          <p>
            Expected <Amount credits={result.credits_expected} money={result.money.expected} />, between{' '}
            {credits(result.credits_min)} and {credits(result.credits_max)} credits.
          </p>
          {result.affordable ? (
            <p className="ok">
              You can afford it: about {result.runs_affordable?.toLocaleString('en-US') ?? 'unlimited'} such
              runs; {credits(result.balance_after ?? '0')} credits left after.
            </p>
          ) : (
            <div className="blocked">
              <p>Not now:</p>
              <ul>
                {result.blocked_by.map((blocker, index) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: reasons have no identity of their own
                  <li key={index}>{describeBlocker(blocker)}</li>
                ))}
              </ul>
            </div>
          )}
        </div>
      ) : null}
    </Card>
  );
}

function describeBlocker(blocker: Record<string, unknown>): string {
  switch (blocker.kind) {
    case 'insufficient_credits':
      return `needs ${credits(String(blocker.needed))} credits, ${credits(String(blocker.available))} usable`;
    case 'limit':
      return `the ${blocker.limit_id} limit (${credits(String(blocker.used))} of ${credits(String(blocker.max))} used)${blocker.resets_at ? `, resets ${new Date(String(blocker.resets_at)).toLocaleString()}` : ''}`;
    case 'subscription_required':
      return `${credits(String(blocker.amount))} ${blocker.grant_kind} credits need an active subscription`;
    case 'restriction':
      return `${credits(String(blocker.amount))} ${blocker.grant_kind} credits cannot pay for this`;
    case 'entitlement':
      return `needs ${blocker.entitlement}, included in ${(blocker.plans as string[]).join(', ') || 'no plan'}`;
    default:
      return String(blocker.kind);
  }
}

interface HistoryFilter {
  from: string;
  to: string;
  operation: string;
  model: string;
  thread: string;
  project: string;
  outcome: string;
}

/** Where a proxied call's usage came from, as the history says it. */
const USAGE_SOURCES = {
  reported: 'usage from the provider',
  counted: 'usage counted by Tally',
  client_disconnected: 'counted until you left',
} as const;

function HistoryCard(props: { client: TallyClient; account: string; timezone: string }) {
  const [filter, setFilter] = useState<HistoryFilter>({
    from: '',
    to: '',
    operation: '',
    model: '',
    thread: '',
    project: '',
    outcome: '',
  });
  const [applied, setApplied] = useState(filter);
  const query = useMemo(() => {
    const entries = Object.entries(applied).filter(([, value]) => value !== '');
    const mapped = entries.map(([key, value]) => [
      key,
      key === 'from' || key === 'to' ? new Date(`${value}T00:00:00Z`).toISOString() : value,
    ]);
    return { account: props.account, ...Object.fromEntries(mapped) } as { account: string } & Record<
      string,
      string
    >;
  }, [applied, props.account]);
  const [pages, setPages] = useState<Awaited<ReturnType<TallyClient['charges']>>[]>([]);
  const first = useLoad(async () => {
    const page = await props.client.charges({ ...query, limit: 20 });
    setPages([page]);
    return page;
  }, [query]);
  const daily = useLoad(async () => {
    const all = [];
    let cursor: string | undefined;
    do {
      const page = await props.client.charges({ ...query, limit: 200, ...(cursor ? { cursor } : {}) });
      all.push(...page.data);
      cursor = page.next_cursor ?? undefined;
    } while (cursor && all.length < 2_000);
    const by_day = new Map<string, Record<string, number>>();
    for (const charge of all) {
      const day = localDay(charge.created_at, props.timezone);
      const row = by_day.get(day) ?? {};
      row[charge.operation] = (row[charge.operation] ?? 0) + Number(charge.credits);
      by_day.set(day, row);
    }
    // Every day of the range, empty ones too: the last 30 days unless the filter names a range.
    const end = query.to ? new Date(query.to) : new Date();
    const start = query.from ? new Date(query.from) : new Date(end.getTime() - 29 * 86_400_000);
    const days: DailyUsage[] = [];
    for (let at = start.getTime(); at <= end.getTime() && days.length < 92; at += 86_400_000) {
      const day = localDay(new Date(at).toISOString(), props.timezone);
      if (days.at(-1)?.day !== day) days.push({ day, by_operation: by_day.get(day) ?? {} });
    }
    return days;
  }, [query]);
  const usage = useLoad(
    () =>
      props.client.usage(props.account, {
        group_by: 'operation',
        ...(query.from ? { from: query.from } : {}),
        ...(query.to ? { to: query.to } : {}),
      }),
    [query],
  );
  const rows = pages.flatMap((page) => page.data);
  const next = pages.at(-1)?.next_cursor;
  const more = async () => {
    if (!next) return;
    const page = await props.client.charges({ ...query, limit: 20, cursor: next });
    setPages([...pages, page]);
  };
  const exportCsv = async () => {
    const { limit: _limit, cursor: _cursor, ...all } = query;
    downloadText(await props.client.chargesCsv(all as never), `charges-${props.account}.csv`);
  };
  const set =
    (key: keyof HistoryFilter) => (event: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
      setFilter({ ...filter, [key]: event.target.value });
  return (
    <Card
      title="Usage history"
      id="history"
      actions={
        <button type="button" onClick={exportCsv}>
          Export CSV
        </button>
      }
    >
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied(filter);
        }}
      >
        <Field label="From">
          <input type="date" value={filter.from} onChange={set('from')} />
        </Field>
        <Field label="To">
          <input type="date" value={filter.to} onChange={set('to')} />
        </Field>
        <Field label="Operation">
          <input value={filter.operation} onChange={set('operation')} placeholder="any" />
        </Field>
        <Field label="Model">
          <input value={filter.model} onChange={set('model')} placeholder="any" />
        </Field>
        <Field label="Thread">
          <input value={filter.thread} onChange={set('thread')} placeholder="any" />
        </Field>
        <Field label="Project">
          <input value={filter.project} onChange={set('project')} placeholder="any" />
        </Field>
        <Field label="Outcome">
          <select value={filter.outcome} onChange={set('outcome')}>
            <option value="">any</option>
            <option value="succeeded">succeeded</option>
            <option value="failed">failed</option>
            <option value="rejected">rejected</option>
          </select>
        </Field>
        <button type="submit">Filter</button>
      </form>
      {daily.value && daily.value.length > 0 ? <UsageChart days={daily.value} /> : null}
      {usage.value?.effective_cost_per_usable_output ? (
        <p className="muted" data-testid="effective-cost">
          {credits(usage.value.total_credits)} credits for {usage.value.usable_outputs} usable results out of{' '}
          {usage.value.runs} runs:{' '}
          <strong>{credits(usage.value.effective_cost_per_usable_output)} credits per usable result</strong>.
        </p>
      ) : null}
      <ErrorBox error={first.error} />
      {rows.length === 0 && !first.loading ? (
        <Empty>No runs match. Change the filters, or run something.</Empty>
      ) : (
        <table className="history">
          <caption>
            Times in {props.timezone} ({zoneName(props.timezone)})
          </caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Operation</th>
              <th scope="col">Model</th>
              <th scope="col">Outcome</th>
              <th scope="col">Credits</th>
              <th scope="col">Thread</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((charge) => (
              <tr key={charge.id}>
                <td>{dateTime(charge.created_at, props.timezone)}</td>
                <td>{charge.operation}</td>
                <td>{charge.model ?? ''}</td>
                <td className={charge.outcome}>
                  {charge.outcome}
                  {charge.usage_source ? <small> · {USAGE_SOURCES[charge.usage_source]}</small> : null}
                </td>
                <td>
                  <Amount credits={charge.credits} money={charge.money} />
                </td>
                <td>{charge.metadata.thread ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next ? (
        <button type="button" onClick={more}>
          Load more
        </button>
      ) : null}
    </Card>
  );
}

function SettingsCard(props: {
  client: TallyClient;
  account: string;
  threshold: string | null;
  onSaved: () => void;
}) {
  const [threshold, setThreshold] = useState('');
  const [limit, setLimit] = useState('');
  const [window, setWindow] = useState<'day' | 'week' | 'month'>('month');
  const [saved, setSaved] = useState('');
  const [error, setError] = useState<unknown>();
  const save = async (event: React.FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      if (threshold !== '')
        await props.client.setSettings(props.account, { low_balance_threshold: threshold });
      if (limit !== '')
        await props.client.putLimit(props.account, 'my_spending_limit', { window, max: limit });
      setSaved('Saved.');
      props.onSaved();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <Card title="Settings" id="settings">
      <form className="settings" onSubmit={save}>
        <Field
          label="Warn me when my balance falls below (credits)"
          hint={props.threshold ? `now ${credits(props.threshold)}` : 'no alert set'}
        >
          <input
            inputMode="decimal"
            value={threshold}
            onChange={(event) => setThreshold(event.target.value)}
          />
        </Field>
        <Field label="My spending limit (credits)">
          <input inputMode="decimal" value={limit} onChange={(event) => setLimit(event.target.value)} />
        </Field>
        <Field label="per">
          <select value={window} onChange={(event) => setWindow(event.target.value as typeof window)}>
            <option value="day">day</option>
            <option value="week">week</option>
            <option value="month">month</option>
          </select>
        </Field>
        <button type="submit">Save</button>
      </form>
      <ErrorBox error={error} />
      {saved ? <p role="status">{saved}</p> : null}
    </Card>
  );
}
