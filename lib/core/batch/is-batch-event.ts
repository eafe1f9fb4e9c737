/**
 * True for a Distributed Map batch (it has `Items` and sluice's `BatchInput`), not an HTTP event. Apart from the
 * batch schemas (batch-event.ts): the predict function asks it of every event, and builds those only for a batch.
 */
export function isBatchEvent(event: unknown): boolean {
  return (
    typeof event === 'object' &&
    event !== null &&
    'Items' in event &&
    'BatchInput' in event &&
    typeof (event as { BatchInput: unknown }).BatchInput === 'object' &&
    (event as { BatchInput: object | null }).BatchInput !== null &&
    'sluiceBatch' in (event as { BatchInput: object }).BatchInput
  );
}
