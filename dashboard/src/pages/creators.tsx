/**
 * Creators and teams (SPEC C10, C11). In the portal: a creator's earnings (by prompt, app or
 * day, with what is payable and the payouts), and for a team member the team's members and
 * their own use of the pool. In the console: every creator with a statement and a payout form,
 * and a team's members with their limits.
 */
import { useState } from 'react';
import type { TallyClient } from '../api.ts';
import { Amount, Card, downloadText, Empty, ErrorBox, Field, useLoad } from '../components.tsx';
import { credits, dateTime, money } from '../format.ts';

type Grouping = 'prompt' | 'app' | 'day';

/** A creator's statement: a line per group, the totals, what is payable and what is still within the hold. */
function Statement(props: { client: TallyClient; creator: string; version?: unknown }) {
  const [group_by, setGroupBy] = useState<Grouping>('prompt');
  const statement = useLoad(
    () => props.client.earnings(props.creator, { group_by }),
    [props.creator, group_by, props.version],
  );
  const value = statement.value;
  return (
    <>
      <ErrorBox error={statement.error} />
      <Field label="Group by">
        <select value={group_by} onChange={(event) => setGroupBy(event.target.value as Grouping)}>
          <option value="prompt">Prompt</option>
          <option value="app">App</option>
          <option value="day">Day</option>
        </select>
      </Field>
      {value ? (
        <>
          <p className="headline" data-testid="earnings-payable">
            {credits(value.payable)} credits payable ({money(value.payable_money)})
          </p>
          <p className="muted">
            Earned {credits(value.net)} net of refunds; {credits(value.in_hold)} still within the{' '}
            {value.hold_days}-day refund window; {credits(value.paid)} paid out.
          </p>
          {value.groups.length === 0 ? (
            <Empty>No runs of this creator's work yet.</Empty>
          ) : (
            <table className="earnings" data-testid="earnings">
              <thead>
                <tr>
                  <th scope="col">{group_by === 'day' ? 'Day' : group_by === 'app' ? 'App' : 'Prompt'}</th>
                  <th scope="col">Runs</th>
                  <th scope="col">Paid by runners</th>
                  <th scope="col">Share</th>
                  <th scope="col">Refunded</th>
                  <th scope="col">Earned</th>
                </tr>
              </thead>
              <tbody>
                {value.groups.map((group) => (
                  <tr key={group.key}>
                    <td>{group.key}</td>
                    <td>{group.runs}</td>
                    <td>{credits(group.gross)}</td>
                    <td>{credits(group.share)}</td>
                    <td>{group.reversed === '0' ? '—' : `−${credits(group.reversed)}`}</td>
                    <td>
                      <Amount credits={group.net} money={group.money} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <button
            type="button"
            onClick={async () =>
              downloadText(
                await props.client.earningsCsv(props.creator, { group_by }),
                `earnings-${props.creator}.csv`,
              )
            }
          >
            Statement as CSV
          </button>
        </>
      ) : null}
    </>
  );
}

function Payouts(props: { client: TallyClient; creator: string; version?: unknown }) {
  const payouts = useLoad(() => props.client.payouts(props.creator), [props.creator, props.version]);
  const rows = payouts.value?.data ?? [];
  return (
    <>
      <ErrorBox error={payouts.error} />
      {rows.length === 0 ? (
        <Empty>No payouts yet.</Empty>
      ) : (
        <ul className="payouts" data-testid="payouts">
          {rows.map((payout) => (
            <li key={payout.id}>
              {dateTime(payout.created_at, 'UTC')}: {credits(payout.amount)} credits (
              {payout.as === 'credits' ? 'as credits' : money(payout.money)})
              {payout.reference ? `, ${payout.reference}` : ''}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

// ── Portal ────────────────────────────────────────────────────────────────────────────────

/** What a creator earned of others' runs of their work. Shown once they have earned anything. */
export function EarningsCard(props: { client: TallyClient; account: string }) {
  const summary = useLoad(() => props.client.earnings(props.account), [props.account]);
  if (!summary.value || (summary.value.groups.length === 0 && summary.value.paid === '0')) return null;
  return (
    <Card title="Creator earnings" id="earnings">
      <Statement client={props.client} creator={props.account} />
      <h3>Payouts</h3>
      <Payouts client={props.client} creator={props.account} />
    </Card>
  );
}

/** For a team member: the team's members, and what each has used of the pool (your own, as a member). */
export function TeamCard(props: { client: TallyClient; account: string; member: string | null }) {
  const members = useLoad(() => props.client.members(props.account), [props.account]);
  const usage = useLoad(() => props.client.usage(props.account, { group_by: 'member' }), [props.account]);
  return (
    <Card title="Team" id="team">
      <ErrorBox error={members.error ?? usage.error} />
      {props.member ? (
        <p>
          You spend from team {props.account}'s credits as {props.member}.
        </p>
      ) : null}
      <table className="members" data-testid="team-members">
        <thead>
          <tr>
            <th scope="col">Member</th>
            <th scope="col">Role</th>
            <th scope="col">Own limits</th>
            <th scope="col">Used</th>
          </tr>
        </thead>
        <tbody>
          {(members.value?.data ?? []).map((row) => {
            const used = usage.value?.groups.find((group) => group.key === row.member);
            return (
              <tr key={row.member}>
                <td>{row.member}</td>
                <td>{row.role}</td>
                <td>{limitsText(row.limits)}</td>
                <td>{used ? `${credits(used.credits)} (${used.count} runs)` : '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Card>
  );
}

function limitsText(limits: { day?: string; month?: string; billing_cycle?: string }): string {
  const parts = Object.entries(limits).map(
    ([window, max]) => `${credits(max)} a ${window === 'billing_cycle' ? 'billing cycle' : window}`,
  );
  return parts.length === 0 ? 'none' : parts.join(', ');
}

// ── Console ───────────────────────────────────────────────────────────────────────────────

export function ConsoleCreators(props: { client: TallyClient }) {
  const creators = useLoad(() => props.client.creators(), []);
  const [selected, setSelected] = useState<string>();
  const [version, setVersion] = useState(0);
  const rows = creators.value?.data ?? [];
  return (
    <>
      <Card title="Creators" id="creators">
        <ErrorBox error={creators.error} />
        {rows.length === 0 ? (
          <Empty>No creator has earned yet.</Empty>
        ) : (
          <table className="creators" data-testid="creators">
            <thead>
              <tr>
                <th scope="col">Creator</th>
                <th scope="col">Earned (net)</th>
                <th scope="col">Payable</th>
                <th scope="col">Paid</th>
                <th scope="col" />
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.creator}>
                  <td>{row.creator}</td>
                  <td>{credits(row.net)}</td>
                  <td>{credits(row.payable)}</td>
                  <td>{credits(row.paid)}</td>
                  <td>
                    <button type="button" onClick={() => setSelected(row.creator)}>
                      Statement
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {selected ? (
        <Card title={`Creator ${selected}`} id="creator">
          <Statement client={props.client} creator={selected} version={version} />
          <PayoutForm
            client={props.client}
            creator={selected}
            onPaid={() => {
              setVersion((current) => current + 1);
              creators.reload();
            }}
          />
          <h3>Payouts</h3>
          <Payouts client={props.client} creator={selected} version={version} />
        </Card>
      ) : null}
    </>
  );
}

function PayoutForm(props: { client: TallyClient; creator: string; onPaid: () => void }) {
  const [amount, setAmount] = useState('');
  const [reference, setReference] = useState('');
  const [error, setError] = useState<unknown>();
  return (
    <form
      className="inline"
      aria-label="Record a payout"
      onSubmit={(event) => {
        event.preventDefault();
        setError(undefined);
        props.client
          .payout(
            props.creator,
            { amount, ...(reference ? { reference } : {}) },
            { idempotency_key: `console:payout:${props.creator}:${amount}:${reference}:${Date.now()}` },
          )
          .then(() => {
            setAmount('');
            setReference('');
            props.onPaid();
          }, setError);
      }}
    >
      <ErrorBox error={error} />
      <Field label="Payout (credits)">
        <input
          required
          inputMode="decimal"
          value={amount}
          onChange={(event) => setAmount(event.target.value)}
        />
      </Field>
      <Field label="Reference">
        <input value={reference} onChange={(event) => setReference(event.target.value)} />
      </Field>
      <button type="submit">Record payout</button>
    </form>
  );
}

/** A team's members with their roles and own limits, and a form to add or change one (console). */
export function TeamMembersCard(props: { client: TallyClient; team: string }) {
  const members = useLoad(() => props.client.members(props.team), [props.team]);
  const [form, setForm] = useState({ member: '', role: 'member', month: '' });
  const [error, setError] = useState<unknown>();
  return (
    <Card title="Members" id="members">
      <ErrorBox error={error ?? members.error} />
      <TeamTable rows={members.value?.data ?? []} />
      <form
        className="inline"
        aria-label="Add or change a member"
        onSubmit={(event) => {
          event.preventDefault();
          setError(undefined);
          props.client
            .putMember(props.team, form.member, {
              role: form.role as 'owner' | 'admin' | 'member',
              limits: form.month ? { month: form.month } : {},
            })
            .then(() => {
              setForm({ member: '', role: 'member', month: '' });
              members.reload();
            }, setError);
        }}
      >
        <Field label="User account">
          <input
            required
            value={form.member}
            onChange={(event) => setForm({ ...form, member: event.target.value })}
          />
        </Field>
        <Field label="Role">
          <select value={form.role} onChange={(event) => setForm({ ...form, role: event.target.value })}>
            <option value="member">member</option>
            <option value="admin">admin</option>
            <option value="owner">owner</option>
          </select>
        </Field>
        <Field label="Monthly limit (credits, empty: none)">
          <input
            inputMode="decimal"
            value={form.month}
            onChange={(event) => setForm({ ...form, month: event.target.value })}
          />
        </Field>
        <button type="submit">Save member</button>
      </form>
    </Card>
  );
}

function TeamTable(props: { rows: { member: string; role: string; limits: Record<string, string> }[] }) {
  if (props.rows.length === 0) return <Empty>No members yet.</Empty>;
  return (
    <table className="members" data-testid="console-members">
      <thead>
        <tr>
          <th scope="col">Member</th>
          <th scope="col">Role</th>
          <th scope="col">Own limits</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr key={row.member}>
            <td>{row.member}</td>
            <td>{row.role}</td>
            <td>{limitsText(row.limits)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
