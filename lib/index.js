'use strict';

const { ResilientSocket } = require('./resilient-socket');
const { ERROR_CODES, ResilientSocketError } = require('./errors');
const { CHANNEL_NAMES: DIAGNOSTICS_CHANNELS } = require('./diagnostics');

module.exports = { ResilientSocket, ResilientSocketError, ERROR_CODES, DIAGNOSTICS_CHANNELS };
