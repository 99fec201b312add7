// A real graphql-transport-ws client (the graphql-ws library over the ws
// package) for tests/api/subscriptions.rs. It reads one JSON spec from argv:
//   {"url": "ws://127.0.0.1:PORT/graphql", "token": "..." | null,
//    "connections": 1, "subscriptions": [{"id": "a", "query": "...", "variables": {}}]}
// and prints one JSON line per thing that happens, flushed at once:
//   {"conn": 0, "connected": true}
//   {"conn": 0, "sub": "a", "next": {...}}     a result (data and/or errors)
//   {"conn": 0, "sub": "a", "error": ...}      the subscription failed
//   {"conn": 0, "sub": "a", "complete": true}
//   {"conn": 0, "closed": 4403, "reason": "..."}
//   {"conn": 0, "refused": 429}                the upgrade was refused
// It runs until killed.
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';

const spec = JSON.parse(process.argv[2]);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');

// A WebSocket that reports a refused upgrade (an HTTP status) before failing.
function reporting(conn) {
  return class extends WebSocket {
    constructor(...args) {
      super(...args);
      // A refused upgrade is reported below; its error event says no more.
      this.on('error', () => {});
      this.on('unexpected-response', (_req, res) => {
        say({ conn, refused: res.statusCode });
        this.terminate();
      });
    }
  };
}

for (let conn = 0; conn < (spec.connections ?? 1); conn++) {
  const client = createClient({
    url: spec.url,
    webSocketImpl: reporting(conn),
    lazy: false,
    retryAttempts: 0,
    connectionParams: spec.token ? { authorization: `Bearer ${spec.token}` } : {},
    on: {
      connected: () => say({ conn, connected: true }),
      closed: (e) => say({ conn, closed: e?.code ?? null, reason: e?.reason ?? null }),
      // Reported through `closed` / `refused`; nothing to print twice.
      error: () => {},
    },
  });
  for (const s of spec.subscriptions ?? []) {
    client.subscribe(
      { query: s.query, variables: s.variables ?? {} },
      {
        next: (v) => say({ conn, sub: s.id, next: v }),
        error: (e) => say({ conn, sub: s.id, error: e?.message ?? (Array.isArray(e) ? e : String(e)) }),
        complete: () => say({ conn, sub: s.id, complete: true }),
      },
    );
  }
}
