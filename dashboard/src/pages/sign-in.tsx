/** Sign in with a customer token (the customer portal) or a secret key (the operator console). */
import { useState } from 'react';
import { type Session, sessionOf } from '../api.ts';
import { Card, Field } from '../components.tsx';

export function SignIn(props: { onSignIn: (session: Session) => void }) {
  const [credential, setCredential] = useState('');
  const [error, setError] = useState('');
  return (
    <Card title="Sign in">
      <p>
        Paste a <strong>customer token</strong> (<code>ct_…</code>, from{' '}
        <code>POST /v1/accounts/&#123;id&#125;/tokens</code>) to see one account, or an operator's{' '}
        <strong>secret key</strong> (<code>sk_…</code>) for the console. <code>npm start</code> prints one of
        each.
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const session = sessionOf(credential);
          if (!session)
            setError(
              'Tally cannot read that: paste a customer token (it starts with ct_) or a secret key (it starts with sk_), whole.',
            );
          else props.onSignIn(session);
        }}
      >
        <Field label="Customer token or secret key">
          <input
            name="credential"
            autoComplete="off"
            value={credential}
            onChange={(event) => setCredential(event.target.value)}
          />
        </Field>
        <button type="submit">Sign in</button>
      </form>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </Card>
  );
}
