'use strict';

const { ResilientSocket } = require('./resilient-socket');
const { ERROR_CODES, ResilientSocketError } = require('./errors');

module.exports = { ResilientSocket, ResilientSocketError, ERROR_CODES };
