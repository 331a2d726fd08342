/** Every HTTP endpoint, a file per capability. */

import { accessRoutes } from './access.ts';
import { accountsRoutes } from './accounts.ts';
import { creatorsRoutes } from './creators.ts';
import { eventsRoutes } from './events.ts';
import { grantsRoutes } from './grants.ts';
import { historyRoutes } from './history.ts';
import { metaRoutes } from './meta.ts';
import { plansRoutes } from './plans.ts';
import { pricesRoutes } from './prices.ts';
import { proxyKeysRoutes } from './proxy-keys.ts';
import { purchasesRoutes } from './purchases.ts';
import type { RouteDefinition } from './route.ts';
import { runsRoutes } from './runs.ts';
import { supportRoutes } from './support.ts';
import { teamsRoutes } from './teams.ts';

export type { RouteContext, RouteDefinition } from './route.ts';
export { testClockRoutes } from './test-clock.ts';

export const routes: RouteDefinition[] = [
  ...metaRoutes,
  ...pricesRoutes,
  ...accountsRoutes,
  ...runsRoutes,
  ...accessRoutes,
  ...grantsRoutes,
  ...historyRoutes,
  ...plansRoutes,
  ...eventsRoutes,
  ...proxyKeysRoutes,
  ...purchasesRoutes,
  ...creatorsRoutes,
  ...teamsRoutes,
  ...supportRoutes,
];
