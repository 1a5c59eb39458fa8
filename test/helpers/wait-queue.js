'use strict';

/**
 * A FIFO of values with bounded waits (connections, frames), ended with an error when its source
 * goes away: pending and later waits then reject with that error.
 */
class WaitQueue {
  /** @param {string} [what] what the queue holds, for timeout messages */
  constructor(what = 'a value') {
    this.what = what;
    this.items = [];
    this.waiters = [];
    this.endError = null;
  }

  push(item) {
    const w = this.waiters.shift();
    if (w) w.resolve(item);
    else this.items.push(item);
  }

  /** Ends the queue; the first error wins. */
  end(err) {
    if (this.endError) return;
    this.endError = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /**
   * The next value, waiting at most `ms`; rejects with code ETIMEDOUT_TEST naming `what`.
   * @param {number} [ms]
   * @param {string} [what]
   */
  next(ms = 5000, what = this.what) {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    if (this.endError) return Promise.reject(this.endError);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        const err = new Error(`Timed out after ${ms} ms waiting for ${what}`);
        err.code = 'ETIMEDOUT_TEST';
        reject(err);
      }, ms);
      this.waiters.push(waiter);
    });
  }
}

module.exports = { WaitQueue };
