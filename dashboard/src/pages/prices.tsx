/** The public price table: every operation's rates, fees and an example cost in credits and money. */
import type { TallyClient } from '../api.ts';
import { Amount, ErrorBox, useLoad } from '../components.tsx';

const rates = (record: Record<string, string>) =>
  Object.entries(record)
    .map(([dimension, rate]) => `${rate} per ${dimension.replace(/_/g, ' ').replace(/s$/, '')}`)
    .join(', ');

export function PriceTable(props: { client: TallyClient }) {
  const prices = useLoad(() => props.client.prices(), []);
  if (prices.error) return <ErrorBox error={prices.error} />;
  if (!prices.value) return <p>Loading…</p>;
  const table = prices.value;
  return (
    <>
      <p className="muted">
        1 credit = {table.credit_value.currency} {table.credit_value.amount_per_credit} · price book version{' '}
        {table.version}
      </p>
      <table className="prices">
        <thead>
          <tr>
            <th scope="col">Operation</th>
            <th scope="col">Credits</th>
            <th scope="col">Typical run</th>
          </tr>
        </thead>
        <tbody>
          {table.operations.map((operation) => (
            <tr key={operation.id}>
              <th scope="row">
                {operation.name}
                {operation.description ? <small>{operation.description}</small> : null}
              </th>
              <td>
                {Object.keys(operation.rates).length > 0 ? <div>{rates(operation.rates)}</div> : null}
                {operation.models.map((model) => (
                  <div key={model.id}>
                    <em>{model.id}</em>: {rates(model.rates)}
                  </div>
                ))}
                {operation.flat_credits !== '0' ? <div>{operation.flat_credits} per run</div> : null}
                {Object.entries(operation.add_ons).map(([add_on, credits]) => (
                  <div key={add_on}>
                    +{credits} with {add_on.replace(/_/g, ' ')}
                  </div>
                ))}
                {operation.min_credits || operation.max_credits ? (
                  <small>
                    {operation.min_credits ? `at least ${operation.min_credits}` : ''}
                    {operation.min_credits && operation.max_credits ? ', ' : ''}
                    {operation.max_credits ? `at most ${operation.max_credits}` : ''}
                  </small>
                ) : null}
              </td>
              <td>
                {operation.example_cost ? (
                  <Amount credits={operation.example_cost.credits} money={operation.example_cost.money} />
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
