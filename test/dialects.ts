/** The store dialects a test run covers: every one unless DIALECTS=sqlite (or =postgres) narrows it. */
export const ALL_DIALECTS = ['sqlite', 'postgres'] as const;
export type Dialect = (typeof ALL_DIALECTS)[number];

export const dialects: readonly Dialect[] = (process.env.DIALECTS ?? ALL_DIALECTS.join(','))
  .split(',')
  .map((name) => name.trim())
  .filter((name): name is Dialect => (ALL_DIALECTS as readonly string[]).includes(name));
