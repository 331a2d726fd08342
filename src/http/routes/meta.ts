/** Liveness. */
import { z } from 'zod';
import type { RouteDefinition } from './route.ts';

export const metaRoutes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness check',
    tag: 'meta',
    access: 'public',
    customer: true,
    answer: z.strictObject({ ok: z.literal(true) }),
    handle: async () => ({ ok: true }),
  },
];
