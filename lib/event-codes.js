'use strict';

/**
 * The layout of the flat event arrays the native bridge delivers (native/binding/
 * js_event_queue.cpp): each event is its kind followed by a fixed number of fields. The
 * numbers mirror `rws::event_kind` in native/session/session_event.hpp.
 */
const KIND = Object.freeze({
  STATE: 1, // state, previous, reason
  CONNECTING: 2, // attempt, url
  OPEN: 3, // attempt, url, protocol, reconnected, resumedFrom
  MESSAGE: 4, // data
  DISCONNECT: 5, // code, reason, wasClean, willReconnect, error
  RECONNECTING: 6, // attempt, delay, reason, error
  HEARTBEAT: 7, // rtt
  ACK: 8, // key
  DRAIN: 9, //
  FAILED: 10, // error
  ERROR: 11, // error
  CLOSE: 12, // code, reason
  SENT: 13, // firstRequest, count, firstSeq, status, keyPrefix
  SEND_FAILED: 14, // request, error
  RESUME_INFO: 15, // lastEventId
  MESSAGE_WITH_ID: 16, // data, id, replayed
  TEXT_RUN: 17, // text, count: consecutive text messages as one string, cut by the next `count`
  //                of the batch's lengths (UTF-16 units)
  BINARY_RUN: 18, // buffer, count: consecutive small binary messages as one Buffer, cut likewise
  DUPLICATES: 19, // count: replayed messages dropped as already delivered in one read
  RESUME_RESET: 20, // lastEventId: the server cannot replay from it (resume.resetMatch)
});

/** Fields after the kind, per kind. */
const FIELDS = [];
FIELDS[KIND.STATE] = 3;
FIELDS[KIND.CONNECTING] = 2;
FIELDS[KIND.OPEN] = 5;
FIELDS[KIND.MESSAGE] = 1;
FIELDS[KIND.DISCONNECT] = 5;
FIELDS[KIND.RECONNECTING] = 4;
FIELDS[KIND.HEARTBEAT] = 1;
FIELDS[KIND.ACK] = 1;
FIELDS[KIND.DRAIN] = 0;
FIELDS[KIND.FAILED] = 1;
FIELDS[KIND.ERROR] = 1;
FIELDS[KIND.CLOSE] = 2;
FIELDS[KIND.SENT] = 5;
FIELDS[KIND.SEND_FAILED] = 2;
FIELDS[KIND.RESUME_INFO] = 1;
FIELDS[KIND.MESSAGE_WITH_ID] = 3;
FIELDS[KIND.TEXT_RUN] = 2;
FIELDS[KIND.BINARY_RUN] = 2;
FIELDS[KIND.DUPLICATES] = 1;
FIELDS[KIND.RESUME_RESET] = 1;

/** rws::receipt_status → SendReceipt.status */
const RECEIPT_STATUS = [undefined, 'written', 'persisted', 'acked'];
/**
 * rws::receipt_status::handed_to_kernel: a SENT event with this status settles nothing; it says
 * the requests' bytes reached the kernel (file outbox or 'acked'), for bufferedAmount.
 */
const HANDED_TO_KERNEL = 4;

module.exports = { KIND, FIELDS, RECEIPT_STATUS, HANDED_TO_KERNEL };
