'use strict';

const { EventEmitter } = require('events');

/**
 * A socket's listener table: a fast object with a slot for each event a service usually listens
 * to, instead of the `{ __proto__: null }` EventEmitter makes, which V8 keeps as a dictionary
 * (184 bytes per socket, against 72). Its prototype has no prototype, so an event named like an
 * Object.prototype member (`toString`) finds no listener, as with EventEmitter's own table.
 * Other events get slots when first listened to.
 */
function ListenerTable() {
  this.open = undefined;
  this.message = undefined;
  this.close = undefined;
  this.error = undefined;
  this.failed = undefined;
  this.disconnect = undefined;
}
ListenerTable.prototype = Object.create(null);

/**
 * An EventEmitter that starts with a ListenerTable. EventEmitter keeps a table that exists before
 * its constructor runs, which a class cannot arrange before super(): hence a function. Node 20
 * and later then clear a removed event's slot instead of deleting it, which would turn the table
 * into a dictionary again; Node 18 deletes it.
 */
function ListenerTableEmitter(options) {
  this._events = new ListenerTable();
  // EventEmitter leaves the count to its prototype's 0 when the table is ours: set here, it is a
  // field of the object's own from the start, not one added (out of line) by the first listener.
  this._eventsCount = 0;
  EventEmitter.call(this, options);
}
Object.setPrototypeOf(ListenerTableEmitter.prototype, EventEmitter.prototype);
Object.setPrototypeOf(ListenerTableEmitter, EventEmitter);

/** Names of events with listeners: slots cleared by removeListener() are not events. */
ListenerTableEmitter.prototype.eventNames = function eventNames() {
  const events = this._events;
  return Reflect.ownKeys(events).filter((name) => events[name] !== undefined);
};

/**
 * Node 20 and 22, clearing a slot, do not emit 'removeListener' when it held a single listener
 * (Node 24 does). Detected once, by behaviour, rather than by version.
 */
const CLEARING_SKIPS_REMOVE_EVENT = (() => {
  const probe = new ListenerTableEmitter();
  let emitted = false;
  const listener = () => {};
  probe.on('removeListener', () => {
    emitted = true;
  });
  probe.on('open', listener);
  EventEmitter.prototype.removeListener.call(probe, 'open', listener);
  return !emitted;
})();

if (CLEARING_SKIPS_REMOVE_EVENT) {
  ListenerTableEmitter.prototype.removeListener = function removeListener(type, listener) {
    const events = this._events;
    const sole = events === undefined ? undefined : events[type];
    EventEmitter.prototype.removeListener.call(this, type, listener);
    const removed = typeof sole === 'function' && (sole === listener || sole.listener === listener);
    // Only a cleared slot went unannounced: after removeAllListeners() EventEmitter deletes
    // (and announces) or replaces the table.
    const cleared = removed && this._events === events && Object.hasOwn(events, type) && events[type] === undefined;
    if (cleared && events.removeListener !== undefined) {
      this.emit('removeListener', type, sole.listener || listener);
    }
    return this;
  };
  // EventEmitter's off is its own removeListener, not a lookup of this one.
  ListenerTableEmitter.prototype.off = ListenerTableEmitter.prototype.removeListener;
}

module.exports = { ListenerTableEmitter };
