'use strict';
/*
 * bench_node.js - what a Node worker pays to ask "is my model warm?".
 *
 * ns per call of the addon (warmth.isWarm by name through the process's
 * Map of model handles, a Model's isWarm(), Table.isWarm by name in C,
 * touch, lookup) next to process.hrtime.bigint() (the floor: one native
 * call returning a BigInt) and a Redis GET from ioredis (awaited, one at a
 * time) over a Unix socket and TCP loopback.  Prints a table, then name=R
 * lines: isWarm_vs_hrtime_bigint=R and redis_get_unix_vs_isWarm=R.
 *
 * The table is made by tests/helpers/fill-table; redis-server is started here on a
 * free loopback port and a Unix socket in a temporary directory (no
 * persistence), both stopped by pid.  The bench pins itself and Redis to
 * CPU 0 (taskset), as bench_php.php does for its same-CPU rows.
 *
 * Run through `make bench-node` (sets FILL_TABLE, WARMTH_NODE and
 * NODE_PATH for ioredis), or by hand with those.  Prints figures; judges
 * nothing.  --quick: shorter runs.
 */
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const REPEATS = 7;
const budgetNs = process.argv.includes('--quick') ? 50e6 : 250e6;
const warmth = require(process.env.WARMTH_NODE || path.join(__dirname, '..', '..', 'lib', 'node'));

const procs = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'warmth-bench-node-'));
function cleanup() {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(cond, what) {
  const end = Date.now() + 10000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} did not start`);
    await sleep(10);
  }
}

function pin(pid, cpu) {
  return spawnSync('taskset', ['-pc', String(cpu), String(pid)], { stdio: 'ignore' }).status === 0;
}

/** Median ns per call over REPEATS runs of a calibrated count; fn(n) runs
 * n calls (sync or async). */
async function measure(fn) {
  let n = 1000;
  for (;;) {
    const t = process.hrtime.bigint();
    await fn(n);
    const dt = Number(process.hrtime.bigint() - t);
    if (dt > budgetNs / 4) {
      n = Math.max(1000, Math.round(n * budgetNs / dt));
      break;
    }
    n *= 4;
  }
  const runs = [];
  for (let i = 0; i < REPEATS; i++) {
    const t = process.hrtime.bigint();
    await fn(n);
    runs.push(Number(process.hrtime.bigint() - t) / n);
  }
  runs.sort((a, b) => a - b);
  return runs[REPEATS >> 1];
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

(async () => {
  const fill = process.env.FILL_TABLE || './tests/helpers/fill-table';
  if (!fs.existsSync(fill)) {
    console.error(`bench_node: ${fill} not found: run through make bench-node`);
    process.exit(1);
  }
  const shm = `/warmth-bench-node-${process.pid}`;
  const ft = spawn(fill, ['--shm', shm, '--models', 'bench-a,bench-b,bench-c', '--warm', 'bench-a',
                          '--hold', '600'], { stdio: 'ignore' });
  procs.push(ft);
  await until(() => fs.existsSync(`/dev/shm${shm}`), 'fill-table');
  await sleep(50);
  process.env.WARMTH_SHM = shm; // the process table (module functions)
  const t = new warmth.Table(shm, { lazy: false });
  const native = t._t; // the addon's Table: calls by name, no Map
  const model = native.resolve('bench-a');
  if (!warmth.isWarm('bench-a') || !model.isWarm()) {
    console.error('bench_node: the table does not say bench-a is warm');
    process.exit(1);
  }

  // ---- Redis -----------------------------------------------------------------
  const why = [];
  let Redis = null;
  try {
    Redis = require('ioredis');
  } catch {
    why.push('ioredis not installed (lib/node-build/node_modules: make node-addon)');
  }
  const redisBin = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (!redisBin) why.push('redis-server not found (redis-server)');
  let clients = null;
  let redisProc = null;
  if (Redis && redisBin) {
    const port = await freePort();
    const sock = path.join(tmp, 'redis.sock');
    redisProc = spawn(redisBin, ['--port', String(port), '--bind', '127.0.0.1', '--unixsocket', sock,
                                 '--unixsocketperm', '700', '--save', '', '--appendonly', 'no',
                                 '--dir', tmp, '--daemonize', 'no', '--loglevel', 'warning'],
                      { stdio: 'ignore' });
    procs.push(redisProc);
    await until(() => fs.existsSync(sock), 'redis-server');
    clients = { unix: new Redis({ path: sock, lazyConnect: true }),
                tcp: new Redis({ port, host: '127.0.0.1', lazyConnect: true }) };
    for (const c of Object.values(clients)) await c.connect();
    await clients.unix.set('warm:bench-a', '1');
  }

  const pinned = pin(process.pid, 0);
  if (redisProc) pin(redisProc.pid, 0);

  // ---- measure -----------------------------------------------------------------
  let sink = 0;
  let last = 0n;
  const rows = {};
  rows['empty loop'] = await measure((n) => { for (let i = 0; i < n; i++) sink += i & 1; });
  rows['process.hrtime.bigint()'] = await measure((n) => {
    for (let i = 0; i < n; i++) last = process.hrtime.bigint();
  });
  rows['performance.now()'] = await measure((n) => {
    for (let i = 0; i < n; i++) sink += performance.now() > 0 ? 1 : 0;
  });
  rows['warmth.isWarm(name)'] = await measure((n) => {
    for (let i = 0; i < n; i++) if (warmth.isWarm('bench-a')) sink++;
  });
  rows['Model.isWarm() (resolved)'] = await measure((n) => {
    for (let i = 0; i < n; i++) if (model.isWarm()) sink++;
  });
  rows['native Table.isWarm(name)'] = await measure((n) => {
    for (let i = 0; i < n; i++) if (native.isWarm('bench-a')) sink++;
  });
  rows['warmth.touch(name)'] = await measure((n) => {
    for (let i = 0; i < n; i++) if (warmth.touch('bench-a')) sink++;
  });
  rows['warmth.lookup(name)'] = await measure((n) => {
    for (let i = 0; i < n; i++) sink += warmth.lookup('bench-a').slot;
  });
  if (clients) {
    for (const [kind, c] of Object.entries(clients)) {
      rows[`ioredis GET ${kind} (same CPU)`] = await measure(async (n) => {
        for (let i = 0; i < n; i++) if ((await c.get('warm:bench-a')) === '1') sink++;
      });
    }
    for (const c of Object.values(clients)) c.disconnect();
  }
  if (last === 0n || sink < 0) console.log('(never)');

  // ---- report --------------------------------------------------------------------
  const base = rows['warmth.isWarm(name)'];
  console.log(`Node ${process.version}, libwarmth ${warmth.version}, ${os.cpus().length} CPUs, ` +
              `${pinned ? 'pinned to CPU 0' : 'not pinned'}; median of ${REPEATS} runs, ns per call ` +
              "(loop overhead included: see 'empty loop')");
  console.log(`${'operation'.padEnd(36)} ${'ns/op'.padStart(10)} ${'x isWarm'.padStart(10)}`);
  for (const [name, ns] of Object.entries(rows)) {
    console.log(`${name.padEnd(36)} ${ns.toFixed(1).padStart(10)} ${(ns / base).toFixed(2).padStart(10)}`);
  }
  for (const w of why) console.log(`not measured: ${w}`);
  console.log(`isWarm_vs_hrtime_bigint=${(base / rows['process.hrtime.bigint()']).toFixed(2)}`);
  console.log(`model_isWarm_vs_hrtime_bigint=${(rows['Model.isWarm() (resolved)'] /
                                              rows['process.hrtime.bigint()']).toFixed(2)}`);
  if (clients) {
    console.log(`redis_get_unix_vs_isWarm=${(rows['ioredis GET unix (same CPU)'] / base).toFixed(1)}`);
  }
  t.close();
  process.exit(0);
})().catch((e) => {
  console.error(`bench_node: ${e.stack}`);
  process.exit(1);
});
