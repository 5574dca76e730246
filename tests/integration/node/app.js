'use strict';
/*
 * The Node app of tests/integration/test_node.py: an HTTP server in every
 * worker of a node:cluster (this file forks them) or of PM2's cluster mode
 * (pm2-runtime start app.js -i N: PM2 is the cluster primary, this file
 * runs only as a worker), answering what an application does on each
 * request, as JSON.
 *
 *   GET /?model=M   mode "warmth": isWarm(M) from this process's table,
 *                   touch(M), lookup(M), and whether the record is M's and
 *                   hangs together; mode "own": no table, this worker's own
 *                   warmer's last success
 *
 * Environment:
 *   PORT               where to listen (127.0.0.1), shared by the workers
 *   WARMTH_APP_WORKERS node:cluster workers to fork (PM2: its -i)
 *   WARMTH_APP_MODE    "warmth" (the addon) or "own" (the per-process
 *                      warmer people run today: in every worker, a timer
 *                      sends a warmup of each model every interval)
 *   WARMTH_APP_MODELS  the models, comma-separated
 *   WARMTH_APP_UPSTREAM, WARMTH_APP_INTERVAL_MS   own mode: API base URL
 *                      (".../v1") and the timer's interval
 *   WARMTH_NODE        the addon package (lib/node-build); WARMTH_SHM the table
 */
const cluster = require('cluster');
const http = require('http');

const MODE = process.env.WARMTH_APP_MODE || 'warmth';
const MODELS = (process.env.WARMTH_APP_MODELS || '').split(',').filter(Boolean);

if (cluster.isPrimary && process.env.pm_id === undefined) {
  // node:cluster: this process is the primary.  (Under PM2, the PM2 daemon
  // is, and pm_id is set in each worker.)
  const n = Number(process.env.WARMTH_APP_WORKERS || 8);
  for (let i = 0; i < n; i++) cluster.fork();
  let up = 0;
  cluster.on('listening', () => {
    if (++up === n) console.log(`listening workers=${n}`);
  });
  cluster.on('exit', (w, code, sig) => {
    if (!stopping) console.error(`worker ${w.process.pid} exited (${code ?? sig})`);
  });
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
    for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
    cluster.disconnect(() => process.exit(0));
  });
} else {
  worker();
}

function worker() {
  const warmth = MODE === 'warmth' ? require(process.env.WARMTH_NODE) : null;
  const ownOk = new Map(); // own mode: model -> Date.now() of the last success
  let ownSent = 0;

  if (MODE === 'own') {
    // The per-process warmer: one timer per worker process.
    const upstream = process.env.WARMTH_APP_UPSTREAM;
    const interval = Number(process.env.WARMTH_APP_INTERVAL_MS || 1000);
    const warm = (model) => {
      const body = JSON.stringify({ model, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] });
      const req = http.request(`${upstream}/chat/completions`, {
        method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer test' },
        timeout: 5000,
      }, (res) => {
        res.resume();
        res.on('end', () => { if (res.statusCode === 200) ownOk.set(model, Date.now()); });
      });
      req.on('error', () => {});
      req.end(body);
      ownSent++;
    };
    const tick = () => MODELS.forEach(warm);
    tick();
    setInterval(tick, interval);
  }

  http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const model = url.searchParams.get('model') || MODELS[0];
    const out = { pid: process.pid, model, mode: MODE };
    if (MODE === 'own') {
      out.warm = ownOk.has(model) && Date.now() - ownOk.get(model) < 3000;
      out.own_sent = ownSent;
      out.consistent = true;
    } else {
      // The request path: never throws for warmth's sake.
      out.warm = warmth.isWarm(model);
      out.touched = warmth.touch(model);
      out.last_error = warmth.lastError();
      out.resolved = warmth.table().resolved();
      try {
        const m = warmth.lookup(model);
        out.state = m.state;
        out.interval_ms = m.intervalMs;
        out.warm_ttl_ms = m.warmTtlMs;
        // One consistent copy: its own model, and (only warmups succeed
        // here) a warm record's warm_until is its last success + warm_ttl.
        out.consistent = m.name === model &&
          (m.state !== 'warm' || (m.successes > 0 &&
                                  m.warmUntil === m.lastOk + BigInt(m.warmTtlMs) * 1000000n));
      } catch (e) {
        out.error = e.message;
        out.consistent = false;
      }
    }
    const body = JSON.stringify(out);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }).listen(Number(process.env.PORT), '127.0.0.1');
}
