// Compile-only: `resilient-ws/server` from an ES module.
import { ResilientServer, MemoryStore, RedisStore } from 'resilient-ws/server';

const server = new ResilientServer({ port: 0, store: new MemoryStore() });
void server;
void RedisStore;
