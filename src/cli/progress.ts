/**
 * Progress for long CLI work, on stderr so that stdout stays clean for `--json` and pipes. Only
 * drawn on a terminal; logs and CI see nothing but the result.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(amount?: number): void;
  stop(): void;
}

export function startProgress(label: string, total: number): Progress {
  if (!process.stderr.isTTY || total < 2) return { tick: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { tick: (amount = 1) => bar.increment(amount), stop: () => bar.stop() };
}
