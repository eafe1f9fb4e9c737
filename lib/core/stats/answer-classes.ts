import { FLOAT_DATATYPES, INTEGER_DATATYPES } from '../tensor/datatypes.js';
import type { OutputTensor } from '../tensor/TensorData.js';
import type { TensorSpec } from '../tensor/TensorSpec.js';

/**
 * The class output of a model, if it has one: the first integer output with one value per row (a class index,
 * shape `[N]` or `[N, 1]`), else the first row of class scores (a float output of shape `[N, K]`, K > 1). The
 * class-share gate and the drift figure count its classes.
 *
 * @example
 * classOutputOf(manifest.outputs)?.name; // 'label'
 */
export function classOutputOf(specs: readonly TensorSpec[]): TensorSpec | undefined {
  const index = specs.find(
    (spec) =>
      INTEGER_DATATYPES.has(spec.datatype) &&
      (spec.shape.length === 1 || (spec.shape.length === 2 && spec.shape[1] === 1)),
  );
  if (index) return index;
  return specs.find(
    (spec) => FLOAT_DATATYPES.has(spec.datatype) && spec.shape.length === 2 && spec.shape[1] !== 1,
  );
}

/**
 * How many rows of one answer fell in each class (named by the label where the manifest has labels, else by the
 * class index); empty when the model has no class output or the answer lacks it.
 *
 * @example
 * answerClasses(outputs, manifest.outputs, ['setosa', 'versicolor', 'virginica']); // { setosa: 2 }
 */
export function answerClasses(
  outputs: Readonly<Record<string, OutputTensor | undefined>>,
  specs: readonly TensorSpec[],
  labels: readonly string[] | undefined,
): Record<string, number> {
  const spec = classOutputOf(specs);
  const tensor = spec ? outputs[spec.name] : undefined;
  const counts: Record<string, number> = {};
  if (!spec || !tensor) return counts;
  const values = tensor.data as ArrayLike<number | bigint>;
  const name = (index: number): string => labels?.[index] ?? String(index);
  if (INTEGER_DATATYPES.has(spec.datatype)) {
    for (let row = 0; row < values.length; row++) {
      const key = name(Number(values[row]));
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }
  const width = tensor.dims.at(-1) ?? 1;
  for (let offset = 0; offset + width <= values.length; offset += width) {
    let best = 0;
    for (let index = 1; index < width; index++) {
      if (Number(values[offset + index]) > Number(values[offset + best])) best = index;
    }
    const key = name(best);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * The one class a request counts for in the class-share gate: the class most of its rows fell in (of a tie, the
 * first in `classes`' order). A request is one observation, whatever its rows, since the rows of one client's batch
 * are not independent; undefined when the answer had no class.
 *
 * @example
 * requestClass({ '2': 3, '0': 1 }); // '2'
 */
export function requestClass(classes: Readonly<Record<string, number>>): string | undefined {
  let best: string | undefined;
  let most = 0;
  // for...in over the own keys of a plain record: no entries array per answer.
  for (const name in classes) {
    if (!Object.hasOwn(classes, name)) continue;
    const count = classes[name] as number;
    if (count > most) {
      best = name;
      most = count;
    }
  }
  return best;
}
