/**
 * Fairness and support (SPEC C13, C16). In the console: breakage and the effective cost per
 * usable output as charts, and the thread review with its proposed compensation, granted in one
 * click. In the portal: credits about to expire as a notice, and usage by project.
 */
import { useState } from 'react';
import type { TallyClient } from '../api.ts';
import { Card, Empty, ErrorBox, Field, useLoad } from '../components.tsx';
import { credits, date, money } from '../format.ts';

/** Horizontal bars with their values written beside them: the chart never stands alone. */
function Bars(props: { label: string; rows: { key: string; value: number; text: string }[] }) {
  const max = Math.max(1e-9, ...props.rows.map((row) => row.value));
  if (props.rows.length === 0) return <Empty>Nothing yet.</Empty>;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 640 ${props.rows.length * 26}`} role="img" aria-label={props.label}>
        {props.rows.map((row, index) => (
          <g key={row.key}>
            <text x={190} y={index * 26 + 15} textAnchor="end">
              {row.key}
            </text>
            <rect x={196} y={index * 26 + 4} width={(360 * row.value) / max} height={16} fill="#1d4f91" />
            <text x={200 + (360 * row.value) / max} y={index * 26 + 15}>
              {row.text}
            </text>
          </g>
        ))}
      </svg>
      <figcaption>{props.label}</figcaption>
    </figure>
  );
}

// ── Console ───────────────────────────────────────────────────────────────────────────────

export function ConsoleAnalytics(props: { client: TallyClient }) {
  const [breakage_by, setBreakageBy] = useState<'kind' | 'plan' | 'month'>('kind');
  const [cost_by, setCostBy] = useState<'operation' | 'plan' | 'project'>('operation');
  const breakage = useLoad(() => props.client.breakage({ group_by: breakage_by }), [breakage_by]);
  const cost = useLoad(() => props.client.effectiveCost({ group_by: cost_by }), [cost_by]);
  return (
    <>
      <Card title="Breakage" id="breakage">
        <ErrorBox error={breakage.error} />
        <Field label="Breakage by">
          <select
            value={breakage_by}
            onChange={(event) => setBreakageBy(event.target.value as typeof breakage_by)}
          >
            <option value="kind">kind</option>
            <option value="plan">plan</option>
            <option value="month">month</option>
          </select>
        </Field>
        {breakage.value ? (
          <>
            <p className="headline" data-testid="breakage-total">
              {credits(breakage.value.credits)} credits expired unused ({money(breakage.value.money)})
            </p>
            <Bars
              label={`Credits expired by ${breakage_by}`}
              rows={breakage.value.groups.map((group) => ({
                key: group.key,
                value: Number(group.credits),
                text: `${credits(group.credits)} (${money(group.money)})`,
              }))}
            />
          </>
        ) : null}
      </Card>
      <Card title="Effective cost per usable output" id="effective-cost">
        <ErrorBox error={cost.error} />
        <Field label="Cost by">
          <select value={cost_by} onChange={(event) => setCostBy(event.target.value as typeof cost_by)}>
            <option value="operation">operation</option>
            <option value="plan">plan</option>
            <option value="project">project</option>
          </select>
        </Field>
        {cost.value ? (
          <Bars
            label={`Credits per usable output by ${cost_by} (failed and rejected runs count in the spend)`}
            rows={cost.value.groups
              .filter((group) => group.effective_cost_per_usable_output !== null)
              .map((group) => ({
                key: group.key,
                value: Number(group.effective_cost_per_usable_output),
                text: `${credits(group.effective_cost_per_usable_output!)} (${group.usable_outputs} of ${group.runs} runs usable)`,
              }))}
          />
        ) : null}
      </Card>
    </>
  );
}

export function ThreadReview(props: { client: TallyClient }) {
  const [form, setForm] = useState({ account: '', thread: '' });
  const [asked, setAsked] = useState<{ account: string; thread: string }>();
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<unknown>();
  const [granted, setGranted] = useState<string>();
  const review = useLoad(
    () => (asked ? props.client.threadReview(asked.thread, asked.account) : Promise.resolve(undefined)),
    [asked, version],
  );
  const flagged = new Set(review.value?.flags.flatMap((flag) => flag.charges) ?? []);
  return (
    <Card title="Thread review" id="thread-review">
      <form
        className="inline"
        aria-label="Review a thread"
        onSubmit={(event) => {
          event.preventDefault();
          setGranted(undefined);
          setAsked({ ...form });
        }}
      >
        <Field label="Account">
          <input
            required
            value={form.account}
            onChange={(event) => setForm({ ...form, account: event.target.value })}
          />
        </Field>
        <Field label="Thread">
          <input
            required
            value={form.thread}
            onChange={(event) => setForm({ ...form, thread: event.target.value })}
          />
        </Field>
        <button type="submit">Review</button>
      </form>
      <ErrorBox error={error ?? review.error} />
      {review.value ? (
        <>
          <ul data-testid="review-flags">
            {review.value.flags.length === 0 ? <li>Nothing looks wrong in this thread.</li> : null}
            {review.value.flags.map((flag) => (
              <li key={`${flag.kind}:${flag.charges[0]}`}>
                <strong>{flag.kind.replace('_', ' ')}</strong>: {flag.detail} ({flag.charges.length} charges)
              </li>
            ))}
          </ul>
          <table className="review" data-testid="review-charges">
            <thead>
              <tr>
                <th scope="col">Charge</th>
                <th scope="col">Operation</th>
                <th scope="col">Outcome</th>
                <th scope="col">Credits</th>
                <th scope="col">Flagged</th>
              </tr>
            </thead>
            <tbody>
              {review.value.charges.map((charge) => (
                <tr key={charge.id}>
                  <td>{charge.id}</td>
                  <td>{charge.operation}</td>
                  <td>{charge.outcome}</td>
                  <td>{credits(charge.credits)}</td>
                  <td>{flagged.has(charge.id) ? 'yes' : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p data-testid="proposed-compensation">
            Proposed compensation: {credits(review.value.proposed_compensation)} credits (
            {money(review.value.money)})
          </p>
          {review.value.proposed_compensation !== '0' && asked ? (
            <button
              type="button"
              onClick={() => {
                setError(undefined);
                props.client
                  .compensate(
                    asked.account,
                    { charges: [...flagged], reason: `Thread review of ${asked.thread}` },
                    {
                      idempotency_key: `console:compensate:${asked.account}:${asked.thread}:${review.value!.proposed_compensation}`,
                    },
                  )
                  .then((made) => {
                    setGranted(`Granted ${credits(made.amount)} bonus credits (${made.grant.id}).`);
                    setVersion((current) => current + 1);
                  }, setError);
              }}
            >
              Compensate {credits(review.value.proposed_compensation)} credits
            </button>
          ) : null}
          {granted ? <p role="status">{granted}</p> : null}
        </>
      ) : null}
    </Card>
  );
}

// ── Portal ────────────────────────────────────────────────────────────────────────────────

/** `grant.expiring_soon` as a notice in the portal, not only as a webhook. */
export function ExpiringNotice(props: { client: TallyClient; account: string; timezone: string }) {
  const events = useLoad(
    () => props.client.events({ account: props.account, type: 'grant.expiring_soon', limit: 20 }),
    [props.account],
  );
  const now = Date.now();
  const upcoming = (events.value?.data ?? [])
    .map((event) => event.data as { amount: string; expires_at: string; kind: string })
    .filter((data) => Date.parse(data.expires_at) > now);
  if (upcoming.length === 0) return null;
  return (
    <div className="banner low" role="status" data-testid="expiring-soon">
      {upcoming.map((data) => (
        <p key={`${data.kind}:${data.expires_at}`}>
          {credits(data.amount)} {data.kind} credits expire on {date(data.expires_at, props.timezone)}: use
          them first.
        </p>
      ))}
    </div>
  );
}

/** Usage by project (seed 001): credits, runs and failures per project. */
export function ProjectUsageCard(props: { client: TallyClient; account: string }) {
  const usage = useLoad(() => props.client.usage(props.account, { group_by: 'project' }), [props.account]);
  const groups = usage.value?.groups ?? [];
  return (
    <Card title="Usage by project" id="projects">
      <ErrorBox error={usage.error} />
      {groups.length === 0 ? (
        <Empty>No runs yet.</Empty>
      ) : (
        <table data-testid="project-usage">
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Credits</th>
              <th scope="col">Runs</th>
              <th scope="col">Failed</th>
            </tr>
          </thead>
          <tbody>
            {groups.map((group) => (
              <tr key={group.key}>
                <td>{group.key}</td>
                <td>{credits(group.credits)}</td>
                <td>{group.count}</td>
                <td>{group.failed}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
