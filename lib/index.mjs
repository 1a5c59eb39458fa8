// ESM entry: the same classes as the CommonJS entry (one addon instance per environment).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const api = require('./index.js');

export const { ResilientSocket, ResilientSocketError, ERROR_CODES, DIAGNOSTICS_CHANNELS } = api;
export default api;
