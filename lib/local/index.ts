export { DEFAULT_LOCAL_BUCKET, LocalObjectStore, type LocalObjectStoreProps } from './LocalObjectStore.js';
