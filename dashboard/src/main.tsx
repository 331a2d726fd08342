/** The dashboard shell: who is signed in decides between the customer portal and the operator console. */
import { StrictMode, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { clientFor, type Session, storedSession, storeSession } from './api.ts';
import { Card } from './components.tsx';
import { Console } from './pages/console.tsx';
import { Portal } from './pages/portal.tsx';
import { PriceTable } from './pages/prices.tsx';
import { SignIn } from './pages/sign-in.tsx';
import { Link, navigate, usePath } from './router.tsx';
import './styles.css';

function App() {
  const [session, setSession] = useState<Session | null>(storedSession());
  const path = usePath();
  const client = useMemo(() => clientFor(session), [session]);
  const signIn = (next: Session | null) => {
    storeSession(next);
    setSession(next);
    navigate(next?.kind === 'operator' ? '/console' : '/');
  };
  const prices = path === '/prices';
  return (
    <>
      <header className="top">
        <Link to="/">
          <strong>Tally</strong>
        </Link>
        <nav aria-label="Main">
          {session?.kind === 'customer' ? (
            <>
              <a href="#balance">Balance</a>
              <a href="#estimate">Estimate</a>
              <a href="#history">Usage</a>
              <a href="#buy-credits">Buy credits</a>
              <a href="#purchases">Purchases</a>
              <a href="#auto-recharge">Auto-recharge</a>
              <a href="#team">Team</a>
              <a href="#earnings">Earnings</a>
              <a href="#settings">Settings</a>
            </>
          ) : null}
          {session?.kind === 'operator' ? <Link to="/console">Console</Link> : null}
          <Link to="/prices" current={prices}>
            Prices
          </Link>
        </nav>
        {session ? (
          <span className="who">
            {session.kind === 'customer' ? `Account ${session.account}` : 'Operator'}
            <button type="button" onClick={() => signIn(null)}>
              Sign out
            </button>
          </span>
        ) : null}
      </header>
      <main>
        {prices ? (
          <Card title="Prices">
            <PriceTable client={client} />
          </Card>
        ) : !session ? (
          <SignIn onSignIn={signIn} />
        ) : session.kind === 'customer' ? (
          <Portal session={session} client={client} />
        ) : (
          <Console client={client} path={path.startsWith('/console') ? path : '/console/accounts'} />
        )}
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
