import { describe, expect, it } from 'vitest';
import { balanceAlert } from './events.ts';

describe('balance alerts', () => {
  it('fire once per crossing and re-arm when the balance recovers', () => {
    expect(balanceAlert(150n, 100n, 'none')).toEqual({ alert: 'none', fire: [] });
    expect(balanceAlert(99n, 100n, 'none')).toEqual({ alert: 'low', fire: ['balance.low'] });
    expect(balanceAlert(50n, 100n, 'low')).toEqual({ alert: 'low', fire: [] });
    expect(balanceAlert(0n, 100n, 'low')).toEqual({ alert: 'depleted', fire: ['balance.depleted'] });
    expect(balanceAlert(0n, 100n, 'depleted')).toEqual({ alert: 'depleted', fire: [] });
    expect(balanceAlert(20n, 100n, 'depleted')).toEqual({ alert: 'low', fire: [] });
    expect(balanceAlert(100n, 100n, 'low')).toEqual({ alert: 'none', fire: [] });
    expect(balanceAlert(0n, 100n, 'none')).toEqual({
      alert: 'depleted',
      fire: ['balance.low', 'balance.depleted'],
    });
    expect(balanceAlert(0n, null, 'none')).toEqual({ alert: 'depleted', fire: ['balance.depleted'] });
  });
});
