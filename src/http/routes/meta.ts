/** Liveness. */
import type { RouteDefinition } from './route.ts';

export const metaRoutes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness check',
    tag: 'meta',
    access: 'public',
    customer: true,
    handle: async () => ({ ok: true }),
  },
];
