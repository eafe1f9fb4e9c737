export { SAMPLE_MODELS, type SampleModel } from './sample-models.js';
