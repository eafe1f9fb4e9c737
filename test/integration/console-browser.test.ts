import assert from 'node:assert/strict';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
    // The browser first: when it cannot start, nothing else is left running (a stack would hold the process open).
    browser = await launchBrowser();
    [test, shots] = await Promise.all([
      startTestStack({ clock, random: cyclingDraws(), consoleActions: true }),
      // `npm run screenshots` writes them where the README shows them from.
      process.env.SLUICE_SCREENSHOTS
        ? mkdir(process.env.SLUICE_SCREENSHOTS, { recursive: true }).then(
            () => process.env.SLUICE_SCREENSHOTS as string,
          )
        : mkdtemp(join(tmpdir(), 'sluice-console-shots-')),
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
    // The page reads the stack every 2 s, also while the story runs: what it shows is waited for until it is the
    // story's end (both versions answered), never read from whichever read came first.
    await page
      .waitForFunction(
        (css, wanted) => document.querySelector(css)?.getAttribute('data-series') === wanted,
        { timeout: PAGE_WAIT_MS, polling: 100 },
        `${iris} .chart[data-chart="requests"]`,
        `v1,v${candidate}`,
      )
      .catch(async (error: Error) => {
        const series = await page.$eval(`${iris} .chart[data-chart="requests"]`, (chart) =>
          chart.getAttribute('data-series'),
        );
        assert.fail(
          `both versions never answered in the window: the requests chart shows ${series}; ${error.message}`,
        );
      });
    await page.waitForFunction(
      (css) => Number(document.querySelector(css)?.getAttribute('data-points')) > 0,
      { timeout: PAGE_WAIT_MS, polling: 100 },
      `${iris} .chart[data-chart="weight"]`,
    );
    assert.ok(await page.$(`${iris} .chart[data-chart="latency"] canvas`), 'the latency chart is drawn');
    assert.match(await textOf(page, `${iris} ol.timeline`), /deploy v2 at 10% · by cli/);
    assert.match(await textOf(page, `${iris} table.class-shares`), /setosa/);
    assert.ok(
      await page.$(`${iris} button.rollback`),
      'started with --allow-actions, the page offers rollback',
    );
    // A narrow window (a phone, a split screen) scrolls nothing sideways but the versions table.
    await page.setViewport({ width: 420, height: 900 });
    // The charts follow the new width on the window's resize event: waited for, not timed.
    const fits = () => {
      const root = (
        globalThis as unknown as {
          document: { documentElement: { scrollWidth: number; clientWidth: number } };
        }
      ).document.documentElement;
      return root.scrollWidth <= root.clientWidth;
    };
    await page.waitForFunction(fits, { timeout: PAGE_WAIT_MS, polling: 100 }).catch(async () => {
      const width = await page.evaluate(
        () =>
          (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
            .documentElement.scrollWidth,
      );
      assert.fail(`the page is ${width} px wide in a 420 px window`);
    });
    await page.setViewport({ width: 1280, height: 900 });
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

/** A page of another origin (a web app on its own port) that calls the stack's predict route from the browser. */
async function startAppPage(stackUrl: () => string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html><html><body><pre id="out">waiting</pre><script>
      fetch(${JSON.stringify(`${stackUrl()}/models/iris/predict`)}, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] }),
      })
        .then(async (response) => {
          const body = await response.json();
          document.getElementById('out').textContent =
            'answered ' + response.status + ' by version ' + response.headers.get('x-sluice-model-version') + ': ' + JSON.stringify(body.predictions);
        })
        .catch((error) => { document.getElementById('out').textContent = 'blocked: ' + error.message; });
    </script></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('CORS on the local stack (api.cors): a web app of an allowed origin calls it from a real browser, others cannot', () => {
  let test: TestStack;
  let browser: Browser;
  let allowed: Awaited<ReturnType<typeof startAppPage>>;
  let other: Awaited<ReturnType<typeof startAppPage>>;
  before(async () => {
    // The browser first: when it cannot start, nothing else is left running.
    browser = await launchBrowser();
    allowed = await startAppPage(() => test.url);
    other = await startAppPage(() => test.url);
    test = await startTestStack({ cors: { allowOrigins: [allowed.url], maxAgeSeconds: 60 } });
  });
  after(async () => {
    await browser?.close();
    await test?.stop();
    await allowed?.close();
    await other?.close();
  });

  it("the allowed origin's page gets the prediction and reads the served version; another origin's is blocked", async () => {
    const page = await browser.newPage();
    await page.goto(allowed.url);
    await waitForText(page, '#out', 'answered 200');
    assert.match(await textOf(page, '#out'), /by version 1: \[\{"label":"setosa"/);
    await page.goto(other.url);
    await waitForText(page, '#out', 'blocked');
    await page.close();
  });

  it('started without --allow-actions, gives the console page no control token', async () => {
    const page = await fetch(`${test.url}/`);
    assert.equal(page.status, 200);
    assert.doesNotMatch(await page.text(), /sluice-control-token/);
  });

  it("answers the preflight with the contract's methods and headers, the stack's own routes never", async () => {
    const preflight = await fetch(`${test.url}/v2/models/iris/infer`, {
      method: 'OPTIONS',
      headers: { origin: allowed.url, 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), allowed.url);
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'GET, POST');
    assert.match(
      preflight.headers.get('access-control-allow-headers') ?? '',
      /inference-header-content-length/,
    );
    assert.equal(preflight.headers.get('access-control-max-age'), '60');
    const stranger = await fetch(`${test.url}/v2/models/iris/infer`, {
      method: 'OPTIONS',
      headers: { origin: other.url, 'access-control-request-method': 'POST' },
    });
    assert.equal(stranger.headers.get('access-control-allow-origin'), null);
    const control = await fetch(`${test.url}/_sluice/rollouts/iris`, {
      method: 'OPTIONS',
      headers: { origin: allowed.url, 'access-control-request-method': 'POST' },
    });
    assert.equal(control.status, 405);
    assert.equal(control.headers.get('access-control-allow-origin'), null);
  });
});

describe('CORS is off by default on the local stack', () => {
  it('answers no preflight and names no origin', async () => {
    const test = await startTestStack();
    try {
      const preflight = await fetch(`${test.url}/models/iris/predict`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      });
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
      const answer = await fetch(`${test.url}/models/iris/predict`, {
        method: 'POST',
        headers: { origin: 'https://app.example', 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] }),
      });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('access-control-allow-origin'), null);
    } finally {
      await test.stop();
    }
  });
});
