/** Small building blocks shared by the pages. */
import {
  cloneElement,
  type ReactElement,
  type ReactNode,
  useCallback,
  useEffect,
  useId,
  useState,
} from 'react';
import { describeError } from './api.ts';
import { credits, money } from './format.ts';

export function Card(props: { title: string; children: ReactNode; id?: string; actions?: ReactNode }) {
  const heading = `${props.id ?? props.title.toLowerCase().replace(/\W+/g, '-')}-heading`;
  return (
    <section className="card" id={props.id} aria-labelledby={heading}>
      <header>
        <h2 id={heading}>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

/** Credits with their money equivalent beside them. */
export function Amount(props: { credits: string; money?: { currency: string; amount: string } | undefined }) {
  return (
    <span className="amount">
      <span className="credits">{credits(props.credits)}</span>
      {props.money ? <span className="money"> ({money(props.money)})</span> : null}
    </span>
  );
}

export function ErrorBox(props: { error: unknown }) {
  if (!props.error) return null;
  return (
    <p className="error" role="alert">
      {describeError(props.error)}
    </p>
  );
}

export function Empty(props: { children: ReactNode }) {
  return <p className="empty">{props.children}</p>;
}

/** Loaded items as a list, each drawn by `children`, or `empty` when there are none. */
export function ItemList<Item>(props: {
  items: readonly Item[] | undefined;
  empty: ReactNode;
  children: (item: Item) => ReactNode;
}) {
  if (props.items?.length === 0) return <Empty>{props.empty}</Empty>;
  return <ul>{props.items?.map(props.children)}</ul>;
}

/** Loads something once (and again on `reload`), keeping its value, error and loading state. */
export function useLoad<Value>(load: () => Promise<Value>, dependencies: unknown[]) {
  const [value, setValue] = useState<Value | undefined>();
  const [error, setError] = useState<unknown>();
  const [version, setVersion] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the load depends on
  useEffect(() => {
    let live = true;
    setError(undefined);
    load().then(
      (loaded) => live && setValue(loaded),
      (failure: unknown) => live && setError(failure),
    );
    return () => {
      live = false;
    };
  }, [...dependencies, version]);
  const reload = useCallback(() => setVersion((current) => current + 1), []);
  return { value, error, reload, loading: value === undefined && !error };
}

/** A labelled control: the label names exactly its control (by id), and an optional hint follows. */
export function Field(props: { label: string; children: ReactElement<{ id?: string }>; hint?: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {cloneElement(props.children, { id })}
      {props.hint ? <small>{props.hint}</small> : null}
    </div>
  );
}

/** How much of a limit is used: a native meter, which screen readers announce. */
export function Meter(props: { used: string; max: string; label: string }) {
  const max = Number(props.max);
  return (
    <meter
      className="meter"
      aria-label={props.label}
      min={0}
      max={max > 0 ? max : 1}
      low={max * 0.8}
      high={max * 0.95}
      optimum={0}
      value={Number(props.used)}
    />
  );
}

/** Hands text to the browser as a file download (a CSV export). */
export function downloadText(text: string, filename: string, type = 'text/csv'): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.download = filename;
  link.click();
}
