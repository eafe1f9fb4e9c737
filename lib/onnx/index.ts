export { type ModelSignature, readModelSignature } from './read-model-signature.js';
