// The sluice console: reads /_sluice/console/state (again after the state's refreshMs) and draws each model's
// rollout, charts and gates.
// Plain browser JavaScript with no build step; uPlot (a global, from node_modules) draws the charts.

/** Until the first state says otherwise. */
let refreshMs = 2000;
let timer;
/** One color per version, by the version number. */
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563'];
const token =
  document.querySelector('meta[name="sluice-control-token"]')?.getAttribute('content') ?? undefined;
/** The uPlot charts drawn, by model and chart name, redrawn with new data in place. */
const charts = new Map();
let windowMinutes = Number(document.getElementById('window').value);

document.getElementById('window').addEventListener('change', (event) => {
  windowMinutes = Number(event.target.value);
  refresh();
});

/** Creates an element with attributes and children (strings become text: nothing from the stack is parsed as HTML). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name === 'on')
      for (const [type, listener] of Object.entries(value)) element.addEventListener(type, listener);
    // Through the CSSOM: the console's policy refuses style attributes.
    else if (name === 'style') element.style.cssText = String(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const colorOf = (version) => COLORS[(Number(version) - 1) % COLORS.length];
const time = (ms) =>
  new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const bytes = (size) =>
  size >= 1048576
    ? `${(size / 1048576).toFixed(1)} MB`
    : size >= 1024
      ? `${(size / 1024).toFixed(1)} KB`
      : `${size} B`;
const shape = (tensor) => `${tensor.name} ${tensor.datatype}[${tensor.shape.join(', ')}]`;
const percent = (part, whole) => (whole > 0 ? (100 * part) / whole : null);

/** The read in flight: a newer one (a window change) stops it, so an older answer never draws over a newer one. */
let reading;

async function refresh() {
  clearTimeout(timer);
  reading?.abort();
  const controller = new AbortController();
  reading = controller;
  let state;
  try {
    const response = await fetch(`/_sluice/console/state?minutes=${windowMinutes}`, {
      cache: 'no-store',
      signal: controller.signal,
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
    state = body;
  } catch (error) {
    if (controller.signal.aborted) return;
    showProblem(`cannot read the stack's state: ${error.message}`);
    timer = setTimeout(refresh, refreshMs);
    return;
  }
  if (controller.signal.aborted) return;
  showProblem(undefined);
  refreshMs = state.refreshMs;
  document.getElementById('refresh').textContent = `every ${Math.round(refreshMs / 1000)} s`;
  render(state);
  // The next read is scheduled once this one is drawn: reads never pile up behind a slow one.
  timer = setTimeout(refresh, refreshMs);
}

function showProblem(text) {
  const problem = document.getElementById('problem');
  problem.hidden = text === undefined;
  problem.textContent = text ?? '';
}

function render(state) {
  // An AWS deployment's console has no API docs or metrics of its own to link to.
  for (const link of document.querySelectorAll('[data-local-only]')) link.hidden = state.source !== 'local';
  document.getElementById('source').textContent = state.source === 'aws' ? 'AWS' : 'local stack';
  const rolling = state.models.filter((model) => model.rollout.state?.status === 'rolling').length;
  document.getElementById('summary').textContent =
    `${state.models.length} model${state.models.length === 1 ? '' : 's'}, ${rolling} rolling · as of ${time(state.now)}`;
  const main = document.getElementById('models');
  if (state.models.length === 0) {
    main.replaceChildren(
      h('p', { class: 'muted' }, 'No models yet: npx sluice publish model.onnx --model NAME --local'),
    );
    return;
  }
  const seen = new Set();
  for (const model of state.models) {
    seen.add(model.name);
    let section = main.querySelector(`section[data-model="${CSS.escape(model.name)}"]`);
    if (!section) {
      section = h('section', { class: 'model', 'data-model': model.name });
      main.append(section);
    }
    renderModel(section, model, state);
  }
  for (const section of main.querySelectorAll('section.model')) {
    if (!seen.has(section.dataset.model)) {
      for (const key of [...charts.keys()])
        if (key.startsWith(`${section.dataset.model}/`)) charts.delete(key);
      section.remove();
    }
  }
}

function renderModel(section, model, state) {
  const rollout = model.rollout;
  const current = rollout.state;
  const verdict = rollout.health?.verdict;
  const head = h(
    'h2',
    {},
    model.name,
    h('span', { class: 'routing' }, routingText(current)),
    current?.status === 'rolling'
      ? h('span', { class: 'badge rolling' }, current.phase ?? 'canary')
      : undefined,
    verdict ? h('span', { class: `badge ${verdict}` }, verdict) : undefined,
  );
  // Charts are kept across refreshes (uPlot redraws in place); everything else is rebuilt.
  let chartBox = section.querySelector('.charts');
  if (!chartBox) chartBox = h('div', { class: 'charts' });
  const parts = [
    head,
    h('p', { class: 'decision' }, decisionText(rollout.decision, current)),
    actionsOf(model, state),
    chartBox,
    h(
      'div',
      { class: 'columns' },
      h('div', {}, h('h4', {}, 'Gates'), gatesTable(model, state)),
      h('div', {}, h('h4', {}, 'Timeline'), timeline(rollout.history)),
    ),
    h('h4', {}, 'Versions'),
    // A narrow window scrolls the wide table, not the page.
    h('div', { class: 'scroll' }, versionsTable(model, current)),
  ];
  section.replaceChildren(...parts.filter((part) => part !== undefined));
  drawCharts(chartBox, model, state);
}

function routingText(current) {
  if (!current) return 'newest version, never deployed';
  if (current.status !== 'rolling') return `v${current.stable} takes all traffic`;
  return `v${current.stable} stable · v${current.candidate} candidate at ${current.weight}%`;
}

function decisionText(decision, current) {
  switch (decision.kind) {
    case 'idle':
      return current ? 'No rollout in progress.' : 'Not deployed by sluice yet.';
    case 'wait': {
      const until = decision.untilMs === null ? 'until someone acts' : `until ${time(decision.untilMs)}`;
      return `Waiting (${decision.why}) ${until}${decision.detail ? `: ${decision.detail}` : ''}`;
    }
    case 'advance':
      return `Next: step to ${decision.weight}%.`;
    case 'promote':
      return 'Next: promote the candidate.';
    case 'rollback':
      return `Next: roll back: ${decision.reason}`;
    default:
      return '';
  }
}

function actionsOf(model, state) {
  const current = model.rollout.state;
  if (!state.actions || !token || current?.status !== 'rolling') return undefined;
  const send = async (command, body) => {
    const response = await fetch(`/_sluice/rollouts/${encodeURIComponent(model.name)}/${command}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sluice-control-token': token },
      body: JSON.stringify({ actor: 'console', ...body }),
    });
    if (!response.ok) showProblem(`${command} refused: ${(await response.json()).error}`);
    refresh();
  };
  return h(
    'div',
    { class: 'actions' },
    h(
      'button',
      { class: 'promote', type: 'button', on: { click: () => send('promote', {}) } },
      'Promote one step',
    ),
    h(
      'button',
      {
        class: 'rollback',
        type: 'button',
        on: {
          click: () => {
            const reason = window.prompt(
              `Roll back ${model.name} v${current.candidate}: why?`,
              'rolled back from the console',
            );
            if (reason) send('rollback', { reason });
          },
        },
      },
      'Roll back',
    ),
  );
}

function gatesTable(model, state) {
  const health = model.rollout.health;
  const thresholds = state.thresholds;
  const rows = thresholds
    ? [
        ['error rate limit', `${thresholds.errorRatePercent}%`],
        ['p99 latency limit', `${thresholds.p99LatencyMs} ms (or 1.5x stable)`],
        ['NaN outputs limit', String(thresholds.invalidOutputs)],
        ['refused inputs', `≤ stable + ${thresholds.rejectedInputsPercent} points`],
      ]
    : [['limits', "each version's alarms (sluice status MODEL lists them)"]];
  if (health) {
    rows.push(['verdict', health.verdict]);
    for (const reason of health.reasons) rows.push(['', reason]);
    if (health.candidateRequests !== undefined)
      rows.push(['evidence (routed requests this step)', String(health.candidateRequests)]);
    const agreement = health.agreement;
    if (agreement && agreement.compared > 0) {
      const agreed = 100 - (100 * agreement.disagreed) / agreement.compared;
      rows.push(['shadow agreement', `${agreed.toFixed(1)}% of ${agreement.compared} compared`]);
    }
  }
  const replay = model.rollout.state?.replay;
  if (replay) rows.push(['replay', replay.summary]);
  const table = h(
    'table',
    { class: 'gates' },
    rows.map(([name, value]) => h('tr', {}, h('th', {}, name), h('td', {}, value))),
  );
  const shares = health?.classShares;
  const drift = Object.entries(model.drift);
  const labels = model.versions.find((version) => version.version === model.rollout.state?.stable)?.labels;
  return h(
    'div',
    {},
    table,
    shares ? classSharesTable(shares, labels) : undefined,
    drift.length > 0 ? driftTable(drift) : undefined,
  );
}

/** A class's name: its label where the class is a label's index. */
function className(name, labels) {
  return /^[0-9]+$/.test(name) && labels?.[Number(name)] !== undefined
    ? `${labels[Number(name)]} (${name})`
    : name;
}

function classSharesTable(shares, labels) {
  const classes = [...new Set([...Object.keys(shares.stable), ...Object.keys(shares.candidate)])].sort();
  const total = (counts) => Object.values(counts).reduce((sum, count) => sum + count, 0);
  const share = (counts, name) => {
    const value = percent(counts[name] ?? 0, total(counts));
    return value === null ? '–' : `${value.toFixed(1)}%`;
  };
  return h(
    'table',
    { class: 'class-shares' },
    h('tr', {}, h('th', {}, 'class'), h('th', {}, 'stable'), h('th', {}, 'candidate')),
    classes.map((name) =>
      h(
        'tr',
        {},
        h('td', {}, className(name, labels)),
        h('td', { class: 'num' }, share(shares.stable, name)),
        h('td', { class: 'num' }, share(shares.candidate, name)),
      ),
    ),
  );
}

function driftTable(drift) {
  return h(
    'table',
    { class: 'drift' },
    h('tr', {}, h('th', {}, 'drift (PSI)'), h('th', {}, 'output'), h('th', {}, 'figure')),
    drift.flatMap(([version, outputs]) =>
      Object.entries(outputs).map(([output, figure]) =>
        h(
          'tr',
          {},
          h('td', {}, `v${version}`),
          h('td', {}, output),
          h('td', { class: `num${figure > 0.25 ? ' over' : ''}` }, figure.toFixed(3)),
        ),
      ),
    ),
  );
}

function timeline(history) {
  if (history.length === 0) return h('p', { class: 'muted' }, 'No rollout events yet.');
  return h(
    'ol',
    { class: 'timeline' },
    [...history]
      .reverse()
      .map((event) =>
        h(
          'li',
          { class: event.action, 'data-action': event.action },
          `${new Date(event.at).toLocaleString()} · ${event.action}`,
          event.candidate ? ` v${event.candidate}` : '',
          ` at ${event.weight}% · by ${event.actor}`,
          event.reason ? h('span', { class: 'reason' }, event.reason) : undefined,
        ),
      ),
  );
}

function versionsTable(model, current) {
  const role = (version) =>
    version === current?.candidate ? 'candidate' : version === current?.stable ? 'stable' : '';
  return h(
    'table',
    { class: 'versions' },
    h(
      'tr',
      {},
      ['version', 'role', 'created', 'size', 'sha256', 'inputs', 'outputs', 'labels'].map((name) =>
        h('th', {}, name),
      ),
    ),
    model.versions.map((version) =>
      h(
        'tr',
        { 'data-version': version.version },
        h('td', {}, h('span', { style: `color:${colorOf(version.version)}` }, '■ '), `v${version.version}`),
        h('td', {}, role(version.version)),
        h('td', {}, new Date(version.createdAt).toLocaleString()),
        h('td', { class: 'num' }, bytes(version.size)),
        h('td', {}, h('code', { title: version.sha256 }, version.sha256.slice(0, 12))),
        h('td', {}, version.inputs.map(shape).join('; ')),
        h('td', {}, version.outputs.map(shape).join('; ')),
        h('td', {}, version.labels?.join(', ') ?? ''),
      ),
    ),
  );
}

/** The candidate's weight at each period's end, from the rollout's events (the weight after the last one by then). */
function weightSeries(times, history, periodMs) {
  return times.map((at) => {
    let weight = 0;
    for (const event of history) {
      // The weight at the period's end: a step or a rollback shows in the period it happened in.
      if (Date.parse(event.at) > at * 1000 + periodMs) break;
      // A first version's deploy names it as both stable and candidate, and a promote leaves no candidate: 0.
      const rolling =
        event.candidate !== undefined && event.candidate !== event.stable && event.action !== 'promote';
      weight = rolling ? event.weight : 0;
    }
    return weight;
  });
}

function drawCharts(box, model, state) {
  const versions = Object.keys(model.series).sort((a, b) => Number(a) - Number(b));
  const count = Math.round((state.now - state.from) / state.periodMs);
  const times = Array.from({ length: count }, (_, index) => (state.from + index * state.periodMs) / 1000);
  const of = (pick) => versions.map((version) => model.series[version].map(pick));
  const perSecond = state.periodMs / 1000;
  const specs = [
    {
      name: 'weight',
      title: 'Candidate weight (%)',
      labels: ['weight'],
      data: [weightSeries(times, model.rollout.history, state.periodMs)],
      colors: ['#b45309'],
      step: true,
      always: model.rollout.history.length > 0,
    },
    {
      name: 'requests',
      title: 'Requests per second (routed + named)',
      labels: versions.map((v) => `v${v}`),
      data: of((point) => (point.requests + point.direct) / perSecond),
    },
    {
      name: 'latency',
      title: 'Latency p50 / p99 (ms)',
      labels: versions.flatMap((v) => [`v${v} p50`, `v${v} p99`]),
      data: versions.flatMap((version) => [
        model.series[version].map((point) => point.p50Ms),
        model.series[version].map((point) => point.p99Ms),
      ]),
      colors: versions.flatMap((v) => [colorOf(v), colorOf(v)]),
      dashed: versions.flatMap(() => [true, false]),
      threshold: state.thresholds?.p99LatencyMs,
    },
    {
      name: 'errors',
      title: 'Errors (5xx) and refusals (4xx), % of requests',
      labels: versions.flatMap((v) => [`v${v} errors`, `v${v} refused`]),
      data: versions.flatMap((version) => [
        model.series[version].map((point) => percent(point.errors, point.requests + point.direct)),
        model.series[version].map((point) => percent(point.rejected, point.requests + point.direct)),
      ]),
      colors: versions.flatMap((v) => [colorOf(v), colorOf(v)]),
      dashed: versions.flatMap(() => [false, true]),
      threshold: state.thresholds?.errorRatePercent,
    },
    {
      name: 'agreement',
      title: 'Shadow agreement with stable (%)',
      labels: versions.map((v) => `v${v}`),
      data: of((point) => (point.compared > 0 ? 100 - (100 * point.disagreed) / point.compared : null)),
    },
  ];
  for (const spec of specs) drawChart(box, model.name, spec, times, versions);
}

function drawChart(box, modelName, spec, times, versions) {
  const key = `${modelName}/${spec.name}`;
  let holder = box.querySelector(`.chart[data-chart="${spec.name}"]`);
  if (!holder) {
    holder = h(
      'div',
      { class: 'chart', 'data-chart': spec.name },
      h('h3', {}, spec.title),
      h('div', { class: 'plot' }),
    );
    box.append(holder);
  }
  const points = spec.data.reduce(
    (count, line) => count + line.filter((value) => value !== null && value !== undefined).length,
    0,
  );
  const hasData =
    spec.always ||
    (spec.data.length > 0 &&
      spec.data.some((line) => line.some((value) => value !== null && value !== undefined)));
  holder.dataset.points = String(points);
  holder.dataset.series = spec.labels.join(',');
  const plot = holder.querySelector('.plot');
  // A limit far above the figures would flatten them against the axis: it is drawn once they reach a quarter of it.
  const highest = Math.max(0, ...spec.data.flat().filter((value) => typeof value === 'number'));
  const limit = spec.threshold !== undefined && highest >= spec.threshold / 4 ? spec.threshold : undefined;
  holder.querySelector('h3').textContent =
    spec.threshold === undefined ? spec.title : `${spec.title} · limit ${spec.threshold}`;
  const data = [times, ...spec.data];
  if (limit !== undefined) data.push(times.map(() => limit));
  const shapeKey = `${spec.labels.join(',')}|${limit}`;
  const existing = charts.get(key);
  if (!hasData) {
    existing?.plot.destroy();
    charts.delete(key);
    plot.replaceChildren(h('div', { class: 'empty' }, 'no data in this window'));
    return;
  }
  if (existing && existing.shapeKey === shapeKey) {
    existing.plot.setData(data);
    return;
  }
  existing?.plot.destroy();
  plot.replaceChildren();
  const series = [
    {},
    ...spec.labels.map((label, index) => ({
      label,
      stroke: spec.colors?.[index] ?? colorOf(versions[index] ?? index + 1),
      width: 1.5,
      dash: spec.dashed?.[index] ? [4, 3] : undefined,
      spanGaps: false,
      // Periods with no request are gaps: a version with few requests shows as points, not as nothing.
      points: { show: true, size: 4 },
      paths: spec.step ? window.uPlot.paths.stepped({ align: 1 }) : undefined,
    })),
  ];
  if (limit !== undefined)
    series.push({ label: 'limit', stroke: '#b91c1c', dash: [2, 4], width: 1, points: { show: false } });
  const width = Math.max(200, holder.clientWidth || 320);
  const created = new window.uPlot(
    { width, height: 160, series, scales: { x: { time: true } }, legend: { live: false } },
    data,
    plot,
  );
  charts.set(key, { plot: created, shapeKey, holder });
}

// Charts follow their column's width when the window changes size.
window.addEventListener('resize', () => {
  for (const { plot, holder } of charts.values())
    plot.setSize({ width: Math.max(200, holder.clientWidth), height: 160 });
});

refresh();
