import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  MAX_WIDGETS_PER_DASHBOARD,
  MODELS_PER_DASHBOARD,
  ModelDashboard,
  WIDGETS_PER_MODEL,
} from '../../lib/cdk/model-dashboard.js';
import type { ModelEndpoint } from '../../lib/cdk/model-endpoint.js';
import { CDK_CONTEXT } from './stack-fixture.js';

/** What the dashboard reads of a model's endpoint: its function's name, the model and its version. */
function endpointOf(index: number): ModelEndpoint {
  return {
    fn: { functionName: `Sluice-Model${index}Function` },
    modelName: `model-${index}`,
    modelVersion: 1,
  } as unknown as ModelEndpoint;
}

/** The widgets of each dashboard in the template, by logical id. */
function widgetCounts(models: number): Record<string, number> {
  const stack = new Stack(new App({ context: CDK_CONTEXT }), 'Dashboards');
  new ModelDashboard(stack, 'Dashboard', {
    endpoints: Array.from({ length: models }, (_, i) => endpointOf(i)),
  });
  const dashboards = Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard');
  return Object.fromEntries(
    Object.entries(dashboards).map(([id, resource]) => {
      // The body is an Fn::Join of literal parts and the functions' names; its JSON has one "type" per widget.
      const body = JSON.stringify(resource.Properties.DashboardBody);
      return [id, (body.match(/\\"type\\":/g) ?? []).length];
    }),
  );
}

describe("dashboards: no dashboard passes CloudWatch's 100 widgets, however many models", () => {
  it(`a model is ${WIDGETS_PER_MODEL} widgets; ${MODELS_PER_DASHBOARD} models fill one dashboard`, () => {
    assert.deepEqual(Object.values(widgetCounts(1)), [WIDGETS_PER_MODEL]);
    assert.deepEqual(Object.values(widgetCounts(MODELS_PER_DASHBOARD)), [
      MODELS_PER_DASHBOARD * WIDGETS_PER_MODEL,
    ]);
  });

  it('25 models get three dashboards, each under the ceiling, every model on one of them', () => {
    const counts = Object.values(widgetCounts(25));
    assert.equal(counts.length, 3);
    assert.ok(
      counts.every((count) => count <= MAX_WIDGETS_PER_DASHBOARD),
      JSON.stringify(counts),
    );
    assert.equal(
      counts.reduce((sum, count) => sum + count, 0),
      25 * WIDGETS_PER_MODEL,
    );
  });
});
