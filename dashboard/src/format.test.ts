import { describe, expect, it } from 'vitest';
import { microCredits, roughCredits, roughDuration, timesQuantity } from './format.ts';

describe('figures as a person would say them', () => {
  it('rounds a burn rate to two decimals below 100 credits, to whole ones above, without a float', () => {
    expect(roughCredits('0.555714')).toBe('0.56');
    expect(roughCredits('12.3449')).toBe('12.34');
    expect(roughCredits('3')).toBe('3');
    expect(roughCredits('1234.5')).toBe('1,235');
    expect(roughCredits('0.004')).toBe('0');
  });

  it('shows stored micro-credits as credits, exactly', () => {
    expect(microCredits('4000000000')).toBe('4,000');
    expect(microCredits('1')).toBe('0.000001');
    expect(microCredits('-2500000')).toBe('−2.5');
  });

  it('says a runway in days, weeks, months, or more than a year', () => {
    expect(roughDuration('4491.7')).toBe('more than a year');
    expect(roughDuration('0.4')).toBe('less than a day');
    expect(roughDuration('1.2')).toBe('about a day');
    expect(roughDuration('9.9')).toBe('about 9 days');
    expect(roughDuration('21')).toBe('about 3 weeks');
    expect(roughDuration('95')).toBe('about 3 months');
  });
});

describe('the cost of a quantity, before paying', () => {
  it('multiplies an exact decimal by a quantity without a float', () => {
    expect(timesQuantity('16', 5)).toBe('80');
    expect(timesQuantity('16.50', 3)).toBe('49.5');
    expect(timesQuantity('0.1', 3)).toBe('0.3');
    expect(timesQuantity('9.99', 100)).toBe('999');
  });
});
