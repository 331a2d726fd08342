/**
 * Starts one throwaway PostgreSQL server for the whole test run (unless DIALECTS leaves
 * postgres out) and stops it afterwards. Tests reach it through `inject('postgres_url')`.
 */
import type { TestProject } from 'vitest/node';
import { dialects } from './dialects.ts';
import { startPostgresServer } from './postgres-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres_url: string;
  }
}

export default async function setup(project: TestProject) {
  if (!dialects.includes('postgres')) {
    project.provide('postgres_url', '');
    return;
  }
  const server = await startPostgresServer();
  project.provide('postgres_url', server.url);
  return () => server.stop();
}
