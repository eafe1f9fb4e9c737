import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { launchBrowser, PAGE_WAIT_MS } from '../fixtures/browser.js';
import { canaryStory } from '../fixtures/console-scenario.js';
import { cyclingDraws, startTestStack, TestClock, type TestStack } from '../fixtures/local-stack.js';
import { rolloutStoreOf } from '../fixtures/rollouts.js';

/** The page's document, as the functions run in the browser see it (the tests' types carry no DOM). */
declare const document: {
  querySelectorAll(css: string): Iterable<{ textContent: string | null }>;
  querySelector(css: string): { getAttribute(name: string): string | null } | null;
};

/** The text of the first element matching `selector`, or '' when there is none. */
function textOf(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (element) => element.textContent ?? '').catch(() => '');
}

/** Waits until the page's element matching `selector` holds `text` (the console redraws every 2 s). */
async function waitForText(page: Page, selector: string, text: string): Promise<void> {
  await page
    .waitForFunction(
      (css, wanted) =>
        [...document.querySelectorAll(css)].some((element) => element.textContent?.includes(wanted)),
      { timeout: PAGE_WAIT_MS, polling: 100 },
      selector,
      text,
    )
    .catch(async (error: Error) => {
      throw new Error(
        `"${text}" never appeared in ${selector}; it holds "${await textOf(page, selector)}": ${error.message}`,
      );
    });
}

describe('Console: the local stack shows models, rollouts and their gates in a real browser', () => {
  let test: TestStack;
  let clock: TestClock;
  let browser: Browser;
  let page: Page;
  let shots: string;
  before(async () => {
    clock = new TestClock();
    [test, browser, shots] = await Promise.all([
      startTestStack({ clock, random: cyclingDraws(), consoleActions: true }),
      launchBrowser(),
      mkdtemp(join(tmpdir(), 'sluice-console-shots-')),
    ]);
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    // The page must load without a script error: one would leave the tests below waiting for nothing.
    after(() => assert.deepEqual(errors, [], 'the pages logged no errors'));
  });
  after(async () => {
    await browser?.close();
    await test?.stop();
  });

  it('renders the sample model with the version that serves it and its signature', async (t) => {
    await page.goto(`${test.url}/`);
    await waitForText(page, 'section[data-model="iris"] .routing', 'newest version');
    const versions = await textOf(page, 'section[data-model="iris"] table.versions');
    assert.match(versions, /v1/);
    assert.match(versions, /features FP32\[-1, 4\]/);
    assert.match(versions, /setosa, versicolor, virginica/);
    const shot = join(shots, 'console-start.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
  });

  it('shows a canary in progress: its weight, the split of traffic per version and charts of both', async (t) => {
    const candidate = await canaryStory(test, clock);
    await waitForText(page, 'section[data-model="iris"] .routing', `v${candidate} candidate at 10%`);
    const iris = 'section[data-model="iris"]';
    await page.waitForFunction(
      (css) => Number(document.querySelector(css)?.getAttribute('data-points')) > 0,
      { timeout: PAGE_WAIT_MS, polling: 100 },
      `${iris} .chart[data-chart="weight"]`,
    );
    const series = await page.$eval(`${iris} .chart[data-chart="requests"]`, (chart) =>
      chart.getAttribute('data-series'),
    );
    assert.equal(series, `v1,v${candidate}`, 'both versions answered in the window');
    assert.ok(await page.$(`${iris} .chart[data-chart="latency"] canvas`), 'the latency chart is drawn');
    assert.match(await textOf(page, `${iris} ol.timeline`), /deploy v2 at 10% · by cli/);
    assert.match(await textOf(page, `${iris} table.class-shares`), /setosa/);
    assert.ok(
      await page.$(`${iris} button.rollback`),
      'started with --allow-actions, the page offers rollback',
    );
    const shot = join(shots, 'console-canary.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
  });

  it('rolls back from its button, recorded with actor console, and shows the reason', async (t) => {
    const iris = 'section[data-model="iris"]';
    page.once('dialog', (dialog) => void dialog.accept('v2 answers versicolor for setosa rows'));
    await page.click(`${iris} button.rollback`);
    await waitForText(page, `${iris} ol.timeline li.rollback`, 'v2 answers versicolor for setosa rows');
    await waitForText(page, `${iris} .routing`, 'v1 takes all traffic');
    const state = await rolloutStoreOf(test).current('iris');
    assert.equal(state?.status, 'idle');
    assert.equal(state?.history.at(-1)?.actor, 'console');
    assert.equal(await page.$(`${iris} button.rollback`), null, 'nothing to roll back any more');
    const shot = join(shots, 'console-rollback.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
  });

  it('the docs page sends a request from its form and shows the prediction', async (t) => {
    await page.goto(`${test.url}/docs`);
    const operation = '#operations-iris-post_models_iris_predict';
    await page.waitForSelector(`${operation} .opblock-summary`, { timeout: PAGE_WAIT_MS });
    await page.click(`${operation} .opblock-summary`);
    await page.waitForSelector(`${operation} .execute`, { timeout: PAGE_WAIT_MS });
    await page.click(`${operation} .execute`);
    await waitForText(page, `${operation} .live-responses-table`, '"predictions"');
    const answer = await textOf(page, `${operation} .live-responses-table`);
    assert.match(answer, /200/);
    assert.match(answer, /setosa/);
    const shot = join(shots, 'docs.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
  });
});
