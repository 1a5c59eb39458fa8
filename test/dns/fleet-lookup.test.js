'use strict';

// A fleet of sockets to one host name (reconnecting together after a server restart) costs the
// resolver one lookup, not one per socket: sockets that ask while a lookup of the name is running
// wait for its answer. A socket that asks later gets a lookup of its own (no cache beyond the
// lookup in flight). The child runs in a private namespace whose resolver is the fixture itself,
// answering and counting the queries.

const path = require('path');
const { unavailableReason, runInDnsNamespace } = require('../helpers/dns-namespace');

const FIXTURE = path.join(__dirname, 'fixtures', 'dns-fleet.js');
const FLEET = 40;

const why = unavailableReason();
if (why) console.log(`dns fleet-lookup test skipped: ${why}`);
const maybe = why ? test.skip : test;

maybe(`${FLEET} sockets opening to one name at once send the resolver one query, not ${FLEET}`, async () => {
  const r = await runInDnsNamespace(FIXTURE, [String(FLEET)], { killAfterMs: 30000 });
  expect({ err: r.err, code: r.code, signal: r.signal }).toEqual({ err: '', code: 0, signal: null });
  const [result] = r.lines;
  expect(result.opened).toBe(FLEET + 1);
  // One lookup: glibc asks once per family (and may ask again on its own retry). One query per
  // socket would be 40.
  expect(result.fleetQueries).toBeGreaterThanOrEqual(1);
  expect(result.fleetQueries).toBeLessThanOrEqual(2);
  expect(result.lateQueries).toBeGreaterThanOrEqual(1); // asked again, not answered from a cache
}, 40000);
