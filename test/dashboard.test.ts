/**
 * The dashboard in a real browser: headless Chromium (Debian's, driven by playwright-core)
 * against a real server with the prompt-marketplace preset. Each main page is saved as a
 * screenshot under test-output/screenshots/ (ignored by git); `npm run screenshots` saves them
 * into docs/screenshots/ for the README instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../src/cli/demo.ts';
import { DASHBOARD_DIST } from '../src/http/app.ts';
import { type RunningServer, startServer } from '../src/http/server.ts';
import type { TestClock } from '../src/service/clock.ts';
import type { Tally } from '../src/service/tally.ts';
import { openTestTally } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = new URL(
  process.env.TALLY_SCREENSHOTS === 'docs' ? '../docs/screenshots/' : '../test-output/screenshots/',
  import.meta.url,
).pathname;
const ADMIN = 'sk_admin_dashboard_test_0123456789';

let tally: Tally;
let clock: TestClock;
let server: RunningServer;
let browser: Browser;

async function newPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page.on('pageerror', (error) => {
    throw error;
  });
  return page;
}

async function signIn(page: Page, credential: string): Promise<void> {
  await page.goto(server.url);
  await page.getByLabel('Customer token or secret key').fill(credential);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

beforeAll(async () => {
  // `npm install` builds the dashboard (the `prepare` script); build it here if this checkout has not.
  if (!existsSync(`${DASHBOARD_DIST}/index.html`) || !existsSync(`${DASHBOARD_DIST}/docs/api-reference.js`))
    execFileSync('npm', ['run', 'build:dashboard'], { stdio: 'ignore' });
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: .ci/run installs Debian's chromium`).toBe(true);
  const opened = await openTestTally({
    config: new URL('../examples/prompt-marketplace.yaml', import.meta.url).pathname,
    start: new Date().toISOString(),
  });
  tally = opened.tally;
  clock = opened.clock;
  await runDemo(tally, { log: () => {} });
  const run = { account: 'demo-user', operation: 'prompt.run', model: 'gpt-4o' } as const;
  await tally.charge({
    ...run,
    usage: { input_tokens: 4000, output_tokens: 1000 },
    metadata: { thread: 'landing-page', project: 'site' },
  });
  await tally.charge({
    ...run,
    usage: { input_tokens: 2000, output_tokens: 300 },
    metadata: { thread: 'pricing-copy', project: 'site' },
  });
  await tally.charge({
    ...run,
    usage: { input_tokens: 9000, output_tokens: 0 },
    outcome: 'failed',
    metadata: { thread: 'landing-page' },
  });
  await tally.access.createKey({ scope: 'admin', name: 'dashboard test', secret: ADMIN });
  server = await startServer({ tally, port: 0, test_clock: opened.clock });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await tally?.close();
});

describe('customer portal', () => {
  it('shows the balance by kind, estimates a run, filters the history and exports CSV', async () => {
    const page = await newPage();
    await signIn(page, (await tally.access.mintCustomerToken('demo-user')).token);
    const available = page.getByTestId('available');
    await expect.poll(() => available.textContent()).toMatch(/2,49\d\.\d+\s*credits available/);
    await expect.poll(() => page.locator('tr[data-kind="free"] th').textContent()).toBe('free');
    expect(await page.locator('tr[data-kind="purchased"] td').first().textContent()).toBe('500');
    expect(await page.locator('[data-limit="free_daily"]').textContent()).toMatch(/of 100 used this day/);
    // The runway as a person says it: a rounded burn rate and a span, never "4491.7 days".
    await expect
      .poll(() => page.getByText("At your last 7 days' pace").textContent())
      .toMatch(
        /about [\d,.]+ credits a day\) your\s+credits last (more than a year|about \d+ (days|weeks|months)|about a day|less than a day)\./,
      );
    await page.screenshot({ path: `${SCREENSHOTS}portal.png`, fullPage: true });

    // Estimate: 3,000 input tokens and 1,000 output on gpt-4o = 0.75 + 1 = 1.75 credits.
    const estimate = page.locator('#estimate');
    await estimate.getByLabel('Operation', { exact: true }).selectOption('prompt.run');
    await estimate.getByLabel('Model', { exact: true }).selectOption('gpt-4o');
    await estimate.getByLabel('input tokens').fill('3000');
    await estimate.getByLabel('output tokens').fill('1000');
    await estimate.getByRole('button', { name: 'Estimate' }).click();
    const result = page.getByTestId('estimate-result');
    await expect.poll(() => result.textContent()).toMatch(/Expected 1\.75 \(USD 0\.0175\)/);
    expect(await result.textContent()).toMatch(/You can afford it/);
    await result.screenshot({ path: `${SCREENSHOTS}estimate.png` });

    // History: four runs, two in the landing-page thread.
    const history = page.locator('table.history tbody tr');
    await expect.poll(() => history.count()).toBe(4);
    const filters = page.locator('form.filters');
    await filters.getByLabel('Thread').fill('landing-page');
    await filters.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => history.count()).toBe(2);
    await filters.getByLabel('Outcome').selectOption('failed');
    await filters.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => history.count()).toBe(1);
    expect(await page.getByTestId('effective-cost').textContent()).toMatch(/usable result/);
    await page.locator('#history').screenshot({ path: `${SCREENSHOTS}history.png` });

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const csv = readFileSync(await (await download).path(), 'utf8');
    expect(csv.split('\r\n')[0]).toMatch(/^id,created_at,operation/);
    expect(csv.trimEnd().split('\r\n')).toHaveLength(2);
    expect(csv).toContain(',failed,');
    await page.close();
  });

  it('says clearly when the account is out of credits, and what still works', async () => {
    await tally.putAccount({ id: 'broke', kind: 'user' });
    for (const grant of await tally.listGrants('broke'))
      await tally.revokeGrant({ grant: grant.id, reason: 'test' });
    const page = await newPage();
    await signIn(page, (await tally.access.mintCustomerToken('broke')).token);
    const banner = page.getByTestId('out-of-credits');
    await expect
      .poll(() => banner.textContent())
      .toMatch(/You are out of credits\..*does not use AI keeps working/);
    await page.screenshot({ path: `${SCREENSHOTS}out-of-credits.png` });
    await page.close();
  });

  it('shows the public price table signed out', async () => {
    const page = await newPage();
    await page.goto(`${server.url}/prices`);
    await expect.poll(() => page.locator('table.prices tbody tr').count()).toBe(3);
    expect(await page.locator('table.prices').textContent()).toMatch(/Run a prompt/);
    expect(await page.locator('main').textContent()).toMatch(/1 credit = USD 0\.01/);
    await page.screenshot({ path: `${SCREENSHOTS}prices.png`, fullPage: true });
    await page.close();
  });
});

describe('buying credits', () => {
  it('shows each pack with its price per credit, the cost before paying, and adds the credits at once', async () => {
    await tally.putAccount({ id: 'buyer', kind: 'user' });
    const page = await newPage();
    await signIn(page, (await tally.access.mintCustomerToken('buyer')).token);
    const card = page.locator('#buy-credits');
    await expect.poll(() => card.locator('tr[data-pack]').count()).toBe(2);
    expect(await card.locator('tr[data-pack="topup_5000"]').textContent()).toMatch(
      /5,000.*USD 45\.00.*0\.009.*10 %/,
    );
    expect(await card.textContent()).toMatch(/1 credit = USD 0\.01/);
    await card.getByLabel('Pack').selectOption('topup_5000');
    await card.getByLabel('Quantity').fill('2');
    await expect
      .poll(() => card.getByTestId('purchase-summary').textContent())
      .toBe('You pay USD 90.00 for 10,000 credits.');
    const before = Number((await tally.getBalance('buyer')).available);
    await card.getByRole('button', { name: 'Buy' }).click();
    await expect.poll(() => card.getByTestId('purchase-result').textContent()).toBe('Added 10,000 credits.');
    expect(Number((await tally.getBalance('buyer')).available)).toBe(before + 10_000);
    const history = page.locator('#purchases');
    await expect.poll(() => history.locator('tr[data-purchase]').count()).toBe(1);
    expect(await history.locator('tr[data-purchase]').textContent()).toMatch(
      /2 × Top-up 5,000.*10,000.*USD 90\.00.*paid/,
    );
    await page.screenshot({ path: `${SCREENSHOTS}buy-credits.png`, fullPage: true });
    await page.close();
  });

  it('switches on auto-recharge with a monthly ceiling, and shows what it will do', async () => {
    await tally.putAccount({ id: 'recharger', kind: 'user' });
    await tally.issueGrant({ account: 'recharger', kind: 'bonus', amount: '5000' });
    const page = await newPage();
    await signIn(page, (await tally.access.mintCustomerToken('recharger')).token);
    const card = page.locator('#auto-recharge');
    await card.getByLabel('When my balance falls below (credits)').fill('200');
    await card.getByLabel('Buy').selectOption('topup_1000');
    await card.getByLabel('At most per month (credits)').fill('3000');
    await card.getByRole('button', { name: 'Save auto-recharge' }).click();
    await expect
      .poll(() => card.getByTestId('auto-recharge-state').textContent())
      .toBe('On: below 200 credits, one topup_1000 is bought · at most 3,000 credits a month (0 so far)');
    expect(await tally.getAutoRecharge('recharger')).toMatchObject({
      enabled: true,
      threshold: '200',
      monthly_max: '3000',
    });
    const refused = card.getByLabel('At most per month (credits)');
    await refused.fill('10');
    await card.getByRole('button', { name: 'Save auto-recharge' }).click();
    await expect
      .poll(() => card.getByRole('alert').textContent())
      .toMatch(/monthly ceiling is below one pack/);
    await page.close();
  });
});

describe('operator console', () => {
  it('lists purchases, confirms a manual one, refunds it with its clawback, and shows the provider inbox', async () => {
    await tally.putAccount({ id: 'invoiced', kind: 'user' });
    // Paid by the test provider, whose confirmation lands in the inbox.
    await tally.purchase({ account: 'invoiced', pack: 'topup_1000' });
    const pending = await tally.purchase({ account: 'invoiced', pack: 'topup_1000', provider: 'manual' });
    // Every account here has its monthly free credits besides.
    const free = Number((await tally.getBalance('invoiced')).available);
    const page = await newPage();
    await signIn(page, ADMIN);
    await page.goto(`${server.url}/console/purchases`);
    const row = page.locator(`#console-purchases tr[data-purchase="${pending.id}"]`);
    await expect.poll(() => row.textContent()).toMatch(/invoiced.*manual.*waiting for payment/);
    await row.getByRole('button', { name: 'Confirm payment' }).click();
    await expect.poll(() => row.textContent()).toMatch(/paid/);
    expect(Number((await tally.getBalance('invoiced')).available)).toBe(free + 1000);
    await row.getByRole('button', { name: 'Refund' }).click();
    const form = page.locator('#console-purchases form.refund');
    await form.getByLabel('Refund amount (money; empty: all that is left)').fill('4.00');
    await form.getByLabel('Reason').fill('invoice corrected');
    await form.getByRole('button', { name: /^Refund pur_/ }).click();
    await expect.poll(() => row.textContent()).toMatch(/partly refunded/);
    expect(Number((await tally.getBalance('invoiced')).available)).toBe(free + 600);
    await expect.poll(() => page.locator('#provider-events tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('#provider-events').textContent()).toMatch(/test.*payment\.succeeded.*applied/);
    await page.screenshot({ path: `${SCREENSHOTS}console-purchases.png`, fullPage: true });
    await page.close();
  });

  it('finds an account, grants credits with a reason, and the customer sees the new balance', async () => {
    const before = Number((await tally.getBalance('demo-user')).available);
    const page = await newPage();
    await signIn(page, ADMIN);
    await page.getByLabel('Account id starts with').fill('demo');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('link', { name: 'demo-user' }).click();
    await expect.poll(() => page.getByTestId('console-available').textContent()).toMatch(/credits available/);
    const grant = page.locator('#grant');
    await grant.getByLabel('Kind').selectOption('bonus');
    await grant.getByLabel('Amount (credits)').fill('100');
    await grant.getByLabel('Reason').fill('sorry for the outage');
    await grant.getByRole('button', { name: 'Grant' }).click();
    await expect.poll(() => grant.getByRole('status').textContent()).toBe('Granted 100 bonus credits.');
    await page.screenshot({ path: `${SCREENSHOTS}console-account.png`, fullPage: true });
    expect(Number((await tally.getBalance('demo-user')).available)).toBeCloseTo(before + 100, 6);

    const customer = await newPage();
    await signIn(customer, (await tally.access.mintCustomerToken('demo-user')).token);
    await expect
      .poll(async () =>
        Number((await customer.getByTestId('available').textContent())?.replace(/[^\d.]/g, '')),
      )
      .toBeCloseTo(before + 100, 2);
    await customer.close();

    await page.getByRole('link', { name: 'Audit' }).click();
    await expect.poll(() => page.locator('main').textContent()).toMatch(/issue_grant/);
    await page.screenshot({ path: `${SCREENSHOTS}console-audit.png` });
    await page.close();
  });
  it('refunds a charge and revokes a grant, each with the reason it asks for', async () => {
    const doomed = await tally.issueGrant({
      account: 'demo-user',
      kind: 'promo',
      amount: '7',
      reason: 'launch promo',
    });
    const page = await newPage();
    const answers = ['customer complaint', 'promo withdrawn'];
    page.on('dialog', (dialog) => void dialog.accept(answers.shift()));
    await signIn(page, ADMIN);
    await page.getByLabel('Account id starts with').fill('demo');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('link', { name: 'demo-user' }).click();
    await page.locator('#charges').getByRole('button', { name: 'Refund' }).first().click();
    await expect
      .poll(
        async () => (await tally.listGrants('demo-user')).find((grant) => grant.refund_of !== null)?.reason,
      )
      .toBe('customer complaint');
    await page
      .locator('#grants tr', { hasText: 'launch promo' })
      .getByRole('button', { name: 'Revoke' })
      .click();
    await expect
      .poll(async () => (await tally.listGrants('demo-user')).find((grant) => grant.id === doomed.id))
      .toMatchObject({ status: 'revoked', closed_reason: 'promo withdrawn' });
    await page.close();
  });
});

describe('console grant form', () => {
  it('offers the kinds this Tally is configured with', async () => {
    const page = await newPage();
    await signIn(page, ADMIN);
    await page.getByLabel('Account id starts with').fill('demo');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('link', { name: 'demo-user' }).click();
    const kinds = page.locator('#grant select option');
    await expect.poll(() => kinds.count()).toBeGreaterThan(0);
    expect(await kinds.allTextContents()).toEqual(tally.config.kinds);
    await page.close();
  });
});

describe('API reference', () => {
  it('serves the interactive reference from Tally itself, compressed, asking nothing of anyone else', async () => {
    const page = await newPage();
    const outside: string[] = [];
    const refused: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(server.url)) outside.push(request.url());
    });
    page.on('console', (message) => {
      if (message.type() === 'error') refused.push(message.text());
    });
    const script = page.waitForResponse((response) => response.url().endsWith('/docs/api-reference.js'));
    await page.goto(`${server.url}/docs`);
    expect((await script).headers()['content-encoding']).toMatch(/^(br|gzip)$/);
    // The reference read this server's document: its groups are the API's tags; opening one lists its operations.
    await page.getByText('runs', { exact: true }).first().click({ timeout: 20_000 });
    await expect
      .poll(() => page.getByText('Hold credits for a run before it starts').count(), { timeout: 20_000 })
      .toBeGreaterThan(0);
    expect(outside).toEqual([]);
    expect(refused).toEqual([]);
    await page.goto(`${server.url}/docs?view=plain`);
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toContain('API');
    await page.close();
  });
});

// Last in the file: it moves the server's clock past the payout hold.
describe('creators and teams', () => {
  it("shows a team member the team's members and their own use, and the console manages members", async () => {
    await tally.putAccount({ id: 'crew', kind: 'team' });
    await tally.issueGrant({ account: 'crew', kind: 'purchased', amount: '300', reason: 'team pack' });
    for (const id of ['mia', 'noah']) await tally.putAccount({ id, kind: 'user' });
    await tally.putMember({ team: 'crew', member: 'mia', role: 'owner' });
    await tally.putMember({ team: 'crew', member: 'noah', role: 'member', limits: { month: '150' } });
    const run = { account: 'crew', operation: 'prompt.run', model: 'gpt-4o' } as const;
    await tally.charge({ ...run, member: 'mia', usage: { input_tokens: 0, output_tokens: 10_000 } }); // 10
    await tally.charge({ ...run, member: 'noah', usage: { input_tokens: 0, output_tokens: 20_000 } }); // 20

    const customer = await newPage();
    await signIn(
      customer,
      (await tally.access.mintCustomerToken('crew', undefined, null, undefined, 'noah')).token,
    );
    const team = customer.getByTestId('team-members');
    await expect
      .poll(() => team.textContent())
      .toMatch(/mia.*owner.*none.*—.*noah.*member.*150 a month.*20 \(1 runs\)/);
    // The history is their own runs only.
    await expect.poll(() => customer.locator('#history tbody tr').count()).toBe(1);
    await customer.screenshot({ path: `${SCREENSHOTS}portal-team.png`, fullPage: true });
    await customer.close();

    // The team's custom plan: its own monthly Pro credits and a lower price for runs.
    await tally.subscribe({ account: 'crew', plan: 'pro' });
    await tally.putPlanOverrides({
      account: 'crew',
      allowances: { pro_monthly: '12000' },
      prices: { 'prompt.run': '0.9' },
    });
    const page = await newPage();
    await signIn(page, ADMIN);
    await page.goto(`${server.url}/console/accounts/crew`);
    await expect
      .poll(() => page.getByTestId('custom-plan').textContent())
      .toMatch(/allowance pro_monthly: 12,000 credits.*prompt\.run at 0\.9 × the price book/);
    const members = page.locator('#members');
    await expect.poll(() => page.getByTestId('console-members').textContent()).toMatch(/noah.*150 a month/);
    await tally.putAccount({ id: 'ola', kind: 'user' });
    await members.getByLabel('User account').fill('ola');
    await members.getByLabel('Monthly limit (credits, empty: none)').fill('75');
    await members.getByRole('button', { name: 'Save member' }).click();
    await expect
      .poll(() => page.getByTestId('console-members').textContent())
      .toMatch(/ola.*member.*75 a month/);
    expect((await tally.listMembers('crew')).data.map((row) => row.member)).toEqual(['mia', 'noah', 'ola']);
    await page.close();
  });

  it('shows a creator their earnings by prompt, and the console pays them out once past the hold', async () => {
    await tally.putAccount({ id: 'author', kind: 'user' });
    const run = { account: 'demo-user', operation: 'prompt.run', model: 'gpt-4o' } as const;
    // 50 credits of the author's prompts: 5 earned (10 %).
    await tally.charge({
      ...run,
      usage: { input_tokens: 0, output_tokens: 30_000 },
      metadata: { author: 'author', prompt: 'cover-letter' },
    });
    await tally.charge({
      ...run,
      usage: { input_tokens: 0, output_tokens: 20_000 },
      metadata: { author: 'author', prompt: 'haiku' },
    });

    const creator = await newPage();
    await signIn(creator, (await tally.access.mintCustomerToken('author')).token);
    const earnings = creator.getByTestId('earnings');
    await expect.poll(() => earnings.textContent()).toMatch(/cover-letter.*1.*30.*3.*haiku.*1.*20.*2/);
    expect(await creator.getByTestId('earnings-payable').textContent()).toMatch(/^0 credits payable/);
    const download = creator.waitForEvent('download');
    await creator.getByRole('button', { name: 'Statement as CSV' }).click();
    const csv = readFileSync(await (await download).path(), 'utf8');
    expect(csv.split('\r\n').slice(0, 3)).toEqual([
      'prompt,runs,gross,share,reversed,net,money,currency',
      'cover-letter,1,30,3,0,3,0.03,USD',
      'haiku,1,20,2,0,2,0.02,USD',
    ]);
    await creator.screenshot({ path: `${SCREENSHOTS}portal-earnings.png`, fullPage: true });

    const page = await newPage();
    await signIn(page, ADMIN);
    await page.goto(`${server.url}/console/creators`);
    const row = page.getByTestId('creators').locator('tr', { hasText: 'author' });
    await expect
      .poll(() => row.locator('td').allTextContents())
      .toEqual(['author', '5', '0', '0', 'Statement']);
    await row.getByRole('button', { name: 'Statement' }).click();
    const form = page.locator('#creator form');
    await form.getByLabel('Payout (credits)').fill('5');
    await form.getByRole('button', { name: 'Record payout' }).click();
    // Within the 14-day refund window nothing can be paid yet: the refusal says so.
    await expect.poll(() => page.locator('#creator [role="alert"]').textContent()).toMatch(/14-day hold/);

    clock.advanceSeconds(14 * 86_400 + 60);
    await page.reload();
    await page
      .getByTestId('creators')
      .locator('tr', { hasText: 'author' })
      .getByRole('button', { name: 'Statement' })
      .click();
    await expect
      .poll(() => page.getByTestId('earnings-payable').textContent())
      .toMatch(/^5 credits payable \(USD 0\.05\)/);
    await page.locator('#creator form').getByLabel('Payout (credits)').fill('5');
    await page.locator('#creator form').getByLabel('Reference').fill('paypal 42');
    await page.locator('#creator form').getByRole('button', { name: 'Record payout' }).click();
    await expect
      .poll(() => page.getByTestId('payouts').textContent())
      .toMatch(/5 credits \(USD 0\.05\), paypal 42/);
    await expect.poll(() => page.getByTestId('earnings-payable').textContent()).toMatch(/^0 credits payable/);
    await page.screenshot({ path: `${SCREENSHOTS}console-creators.png`, fullPage: true });
    expect((await tally.creatorEarnings({ creator: 'author' })).paid).toBe('5');
    await page.close();
  });

  it('shows breakage and the effective cost as charts, reviews a looping thread and compensates it in one click', async () => {
    const start = clock.now_ms();
    await tally.issueGrant({
      account: 'demo-user',
      kind: 'promo',
      amount: '7',
      expires_at: new Date(start + 3_600_000).toISOString(),
    });
    clock.advanceSeconds(7_200);
    await tally.bookDueWork();
    const run = {
      account: 'demo-user',
      operation: 'prompt.run',
      model: 'gpt-4o',
      metadata: { thread: 'loop-T' },
    } as const;
    for (let index = 0; index < 3; index++)
      await tally.charge({ ...run, usage: { input_tokens: 0, output_tokens: 2_000 } }); // 2 each

    const page = await newPage();
    await signIn(page, ADMIN);
    await page.goto(`${server.url}/console/analytics`);
    await expect
      .poll(() => page.getByTestId('breakage-total').textContent())
      .toMatch(/credits expired unused/);
    expect(await page.locator('#breakage svg').textContent()).toMatch(/promo7/);
    await expect.poll(() => page.locator('#effective-cost svg').textContent()).toMatch(/prompt\.run/);
    await page.screenshot({ path: `${SCREENSHOTS}console-analytics.png`, fullPage: true });

    await page.goto(`${server.url}/console/review`);
    const review = page.locator('#thread-review');
    await review.getByLabel('Account', { exact: true }).fill('demo-user');
    await review.getByLabel('Thread', { exact: true }).fill('loop-T');
    await review.getByRole('button', { name: 'Review' }).click();
    await expect
      .poll(() => page.getByTestId('review-flags').textContent())
      .toMatch(/retry loop: 3 near-identical prompt\.run requests/);
    expect(await page.getByTestId('proposed-compensation').textContent()).toMatch(
      /^Proposed compensation: 4 credits/,
    );
    await review.getByRole('button', { name: 'Compensate 4 credits' }).click();
    await expect.poll(() => review.getByRole('status').textContent()).toMatch(/^Granted 4 bonus credits/);
    await expect
      .poll(() => page.getByTestId('proposed-compensation').textContent())
      .toMatch(/^Proposed compensation: 0 credits/);
    await page.screenshot({ path: `${SCREENSHOTS}console-review.png`, fullPage: true });
    await page.close();
  });

  it('tells the customer which credits expire soon, and shows usage by project', async () => {
    await tally.issueGrant({
      account: 'demo-user',
      kind: 'promo',
      amount: '12',
      expires_at: new Date(clock.now_ms() + 2 * 86_400_000).toISOString(),
    });
    await tally.bookDueWork();
    const customer = await newPage();
    await signIn(customer, (await tally.access.mintCustomerToken('demo-user')).token);
    await expect
      .poll(() => customer.getByTestId('expiring-soon').textContent())
      .toMatch(/12 promo credits expire on/);
    await expect.poll(() => customer.getByTestId('project-usage').textContent()).toMatch(/site/);
    await customer.close();
  });
});
