'use strict';

/**
 * The one table of error codes. native/common/error_codes.hpp holds the same names;
 * the README's error table is this one.
 */
const ERROR_CODES = Object.freeze({
  ERR_INVALID_OPTION: 'An option or argument is invalid; the message names it and the accepted values.',
  ERR_CLOSED: 'send() after close() or after the socket ended (failed, or closed by the server), or a message still undelivered when the socket closed (in-memory outbox), or one its disk had not confirmed within the 5 s the end waits (file outbox: it stays in the files).',
  ERR_CONNECT_TIMEOUT: 'DNS + TCP + TLS + upgrade did not finish within connectTimeout.',
  ERR_DNS: 'The host name could not be resolved.',
  ERR_CONNECTION_REFUSED: 'Nothing listens on the port (TCP RST).',
  ERR_CONNECTION_LOST: 'The connection broke: reset, or closed without a close frame (1006).',
  ERR_HANDSHAKE_REJECTED: 'The server answered the upgrade with an HTTP status (.status, .headers).',
  ERR_AUTH: 'The server answered 401 or 403: credentials refused. Terminal.',
  ERR_TLS_VERIFY: 'The server certificate or host name failed verification (.reason). Terminal.',
  ERR_HEARTBEAT_TIMEOUT: 'No answer to a heartbeat within heartbeat.timeout: the connection was dead.',
  ERR_PROTOCOL: 'The server broke the WebSocket protocol (bad frame, bad handshake answer).',
  ERR_MESSAGE_TOO_LARGE: 'An inbound message exceeded maxMessageSize (closed with 1009).',
  ERR_RETRIES_EXHAUSTED: 'reconnect.maxRetries attempts failed in a row. Terminal.',
  ERR_CLOSED_BY_SERVER: 'The server closed with a code listed in reconnect.stopOnCloseCodes. Terminal.',
  ERR_PROXY: 'The HTTP proxy could not be reached or refused the CONNECT tunnel. Retried with backoff.',
  ERR_PROXY_AUTH: 'The HTTP proxy refused its credentials (407, or 401): they are missing or wrong. Terminal.',
  ERR_OUTBOX_FULL: 'The outbox reached maxMessages or maxBytes (onFull decides what happens).',
  ERR_OUTBOX_IO: 'Writing the outbox file failed (ENOSPC, EIO); the message was not stored.',
  ERR_OUTBOX_LOCKED: 'Another socket or process holds this outbox.path.',
  ERR_OUTBOX_CORRUPT: 'The outbox file had corrupt records; they were quarantined, the rest recovered.',
});

/** An Error with a stable `.code` and, where known, the facts behind it. */
class ResilientSocketError extends Error {
  /**
   * @param {string} code one of ERROR_CODES
   * @param {string} message what happened and what to do
   * @param {object} [details] status, headers, reason, retryAfter, closeCode
   */
  constructor(code, message, details) {
    super(message);
    this.name = 'ResilientSocketError';
    this.code = code;
    if (details) {
      for (const name of ['status', 'headers', 'reason', 'retryAfter', 'closeCode']) {
        if (details[name] !== undefined) this[name] = details[name];
      }
    }
  }
}

/**
 * Builds the JS error for a plain error object from the native side.
 * @param {{code: string, message: string}} info
 * @returns {ResilientSocketError}
 */
function fromNative(info) {
  return new ResilientSocketError(info.code, info.message, info);
}

/**
 * A TypeError/RangeError for a bad option, with code ERR_INVALID_OPTION.
 * @param {'type'|'range'} kind
 * @param {string} message
 */
function invalidOption(kind, message) {
  const err = kind === 'range' ? new RangeError(message) : new TypeError(message);
  err.code = 'ERR_INVALID_OPTION';
  return err;
}

module.exports = { ERROR_CODES, ResilientSocketError, fromNative, invalidOption };
