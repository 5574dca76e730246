'use strict';
/*
 * Tests of the Node addon (lib/node): every call of the module and of
 * Table, the errors, the Promise of waitWarm (and that the event loop runs
 * while it waits), model handles across a replaced segment, their bound,
 * close() with a wait in flight.  Tables are made by tests/helpers/fill-table (the
 * coordinator played by the internal writer), each stopped by its pid;
 * lib/php/tests/php-helper reads demand slots and the header's constants.
 *
 *   WARMTH_NODE=.../lib/node-build FILL_TABLE=.../tests/helpers/fill-table \
 *   PHP_HELPER=.../lib/php/tests/php-helper node run.js [FILTER]
 *
 * Prints one line per check and "N passed, N failed"; exits 1 if any failed
 * (or none ran).  lib/node/tests/run-tests.sh sets the paths for make check.
 */
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const warmth = require(process.env.WARMTH_NODE || path.join(__dirname, '..'));
const { Table, errors: E } = warmth;

let passed = 0;
let failed = 0;
let current = '';

function ok(cond, what) {
  if (cond) {
    passed++;
    console.log(`ok - ${current}: ${what}`);
  } else {
    failed++;
    console.log(`FAIL - ${current}: ${what}`);
  }
}

function eq(want, got, what) {
  const same = JSON.stringify(want, big) === JSON.stringify(got, big);
  ok(same, what + (same ? '' : ` (want ${JSON.stringify(want, big)}, got ${JSON.stringify(got, big)})`));
}

function big(_k, v) {
  return typeof v === 'bigint' ? `${v}n` : v;
}

/** Checks that the Promise p rejects with .code `code`. */
async function rejects(code, p, what) {
  ok(p instanceof Promise, `${what} returns a Promise`);
  try {
    await p;
  } catch (e) {
    eq(code, e instanceof TypeError ? 'TypeError' : e.code, `${what} rejects with ${code}`);
    return;
  }
  ok(false, `${what} rejects with ${code}`);
}

/** Checks that fn throws an Error with .code `code` (a WARMTH_E name, or
 * "TypeError" for a TypeError); returns it. */
function throws(code, fn, what) {
  try {
    fn();
  } catch (e) {
    const got = e instanceof TypeError ? 'TypeError' : e.code;
    eq(code, got, `${what} throws ${code}`);
    return e;
  }
  ok(false, `${what} throws ${code}`);
  return null;
}

// ---- fill-table, stopped by pid ------------------------------------------

const procs = [];
let n = 0;

function need(env) {
  const v = process.env[env];
  if (!v || !fs.existsSync(v)) {
    console.error(`run.js: set ${env} to the built program (see run-tests.sh)`);
    process.exit(2);
  }
  return v;
}

function shmName() {
  return `/warmth-node-${process.pid}-${++n}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(cond, ms) {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(20);
  return cond();
}

async function fill(shm, args, hold = 30) {
  const p = spawn(need('FILL_TABLE'), ['--shm', shm, '--hold', String(hold), ...args],
                  { stdio: ['ignore', 'inherit', 'inherit'] });
  procs.push({ p, shm });
  if (!(await until(() => fs.existsSync(`/dev/shm${shm}`) || p.exitCode !== null, 10000)) ||
      p.exitCode !== null) {
    throw new Error(`fill-table did not make ${shm}`);
  }
  await sleep(20); // published right after creation
  return p;
}

async function stopAll() {
  for (const { p, shm } of procs.splice(0)) {
    if (p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM'); // its pid: it unlinks
      await gone;
    }
    for (const s of ['', '.lock']) fs.rmSync(`/dev/shm${shm}${s}`, { force: true });
  }
}

function helper(...args) {
  return execFileSync(need('PHP_HELPER'), args, { encoding: 'utf8' }).trim().split('\n');
}

function demand(shm, slot) {
  const out = {};
  for (const [, k, v] of helper('demand', shm, String(slot))[0].matchAll(/(\w+)=(\d+)/g)) out[k] = Number(v);
  return out;
}

function maps(shm) {
  return fs.readFileSync('/proc/self/maps', 'utf8').split(shm).length - 1;
}

const tests = [];
function test(name, fn) {
  tests.push([name, fn]);
}

// ---- the tests -------------------------------------------------------------

test('constants', async () => {
  const errs = {};
  for (const line of helper('layout')) {
    const f = line.split(' ');
    if (f[0] === 'error') errs[f[1]] = Number(f[2]);
    if (f[0] === 'name_max') eq(Number(f[1]), warmth.NAME_MAX, 'NAME_MAX');
    if (f[0] === 'version') eq(f[1], warmth.version, 'the loaded library is the one built');
  }
  eq(errs, E, 'errors are the WARMTH_E* codes');
  ok(Object.keys(errs).length >= 21, 'the helper listed them');
  eq('WARMTH_ENOENT', warmth.errName(E.NOENT), 'errName');
  ok(warmth.strerror(E.NOENT).includes('no such segment'), 'strerror');
});

test('missing segment', async () => {
  const shm = shmName();
  const e = throws('WARMTH_ENOENT', () => new Table(shm, { lazy: false }), 'a strict open');
  eq(E.NOENT, e && e.errno, 'errno');
  ok(e && e.message.includes(shm), `the message names the segment: ${e && e.message}`);
  const t = new Table(shm);
  ok(t.isOpen(), 'a lazy open succeeds');
  eq(false, t.isWarm('a'), 'isWarm false with no coordinator');
  eq(E.NOENT, t.lastError(), 'lastError says why');
  eq(false, t.touch('a'), 'touch false');
  eq(false, t.report('a', 1000, true), 'report false');
  const t0 = Date.now();
  const p = t.waitWarm('a', 500);
  ok(p instanceof Promise, 'waitWarm returns a Promise');
  eq(false, await p, 'which resolves false');
  ok(Date.now() - t0 < 300, 'without waiting for a missing segment');
  throws('WARMTH_ENOENT', () => t.lookup('a'), 'lookup');
  throws('WARMTH_ENOENT', () => t.status(), 'status');
  throws('WARMTH_ENOENT', () => t.models(), 'models');
  await fill(shm, ['--models', 'a,b', '--warm', 'a']);
  ok(await until(() => t.isWarm('a'), 3000), 'the lazy table attached when the segment appeared');
  eq(0, t.lastError(), 'lastError 0 after a success');
});

test('isWarm', async () => {
  const shm = shmName();
  await fill(shm, ['--models', 'a,b,c', '--warm', 'a', '--failing', 'c']);
  const t = new Table(shm, { lazy: false });
  eq([true, false, false], [t.isWarm('a'), t.isWarm('b'), t.isWarm('c')], 'warm, never probed, failing');
  eq(0, t.lastError(), 'cold is not an error');
  eq(false, t.isWarm('zz'), 'an unknown model');
  eq(E.NOTFOUND, t.lastError(), 'lastError NOTFOUND');
  eq(false, t.touch('zz'), 'touch of an unknown model');
  const e = throws('WARMTH_ENOTFOUND', () => t.lookup('zz'), 'lookup of an unknown model');
  ok(e && e.message.includes('zz'), 'the message names the model');
});

test('bad names', async () => {
  const shm = shmName();
  await fill(shm, ['--models', 'a', '--warm', 'a']);
  const t = new Table(shm, { lazy: false });
  for (const bad of ['has space', '', 'm'.repeat(64), 'tab\t', 'caf\u00e9', 'a\0b', 'x'.repeat(300)]) {
    const show = JSON.stringify(bad.length > 70 ? `${bad.slice(0, 8)}...` : bad);
    throws('WARMTH_ENAMETOOLONG', () => t.isWarm(bad), `isWarm(${show})`);
    throws('WARMTH_ENAMETOOLONG', () => t.touch(bad), `touch(${show})`);
    throws('WARMTH_ENAMETOOLONG', () => t.lookup(bad), `lookup(${show})`);
    await rejects('WARMTH_ENAMETOOLONG', t.waitWarm(bad, 10), `waitWarm(${show})`);
  }
  throws('TypeError', () => t.isWarm(42), 'a number as name');
  throws('TypeError', () => t.isWarm(), 'no name');
  throws('WARMTH_EINVAL', () => t.report('a', -1, true), 'a negative latency');
  throws('WARMTH_EINVAL', () => t.report('a', NaN, true), 'a NaN latency');
  await rejects('WARMTH_EINVAL', t.waitWarm('a', -1), 'a negative timeout');
  await rejects('TypeError', t.waitWarm(42, 1), 'waitWarm of a number');
  eq(true, t.isWarm('a'), 'the table still answers');
  eq(false, t.isWarm('m'.repeat(63)), 'a 63-byte name is valid (not in the table)');
  eq(E.NOTFOUND, t.lastError(), 'and reads as not found');
});

test('lookup', async () => {
  const shm = shmName();
  await fill(shm, ['--models', 'a,b,c', '--warm', 'a', '--failing', 'c']);
  const t = new Table(shm, { lazy: false });
  const a = t.lookup('a');
  const now = process.hrtime.bigint();
  eq(['a', 'warm', 2, 200], [a.name, a.state, a.stateCode, a.httpStatus], 'name, state, code, HTTP status');
  ok(typeof a.warmUntil === 'bigint' && a.warmUntil > now && a.warmUntil - now <= 300000000000n,
     'warmUntil is a BigInt on the clock of process.hrtime.bigint()');
  ok(a.warmForSeconds > 290 && a.warmForSeconds <= 300, `warmForSeconds ${a.warmForSeconds}`);
  ok(a.lastProbe > 0n && a.lastProbe < now && a.lastOk === a.lastProbe, 'lastProbe, lastOk');
  eq([40, 0, 480, 40, 320, 72000], [a.successes, a.failures, a.tokensIn, a.tokensOut, a.tokensCached, a.costNusd],
     'counters');
  eq([150000, 150000], [a.lastLatencyUs, a.ewmaLatencyUs], 'latencies');
  ok(a.dnsUs + a.connectUs + a.tlsUs + a.ttfbUs <= a.lastLatencyUs && a.ttfbUs > 0, 'latency parts');
  eq([0x40, 'none', 0, 0, 4990, 79000, 0], [a.flags, a.errorClass, a.errorClassCode, a.endpoint,
                                             a.headroomRequests, a.headroomTokens, a.slot], 'the rest');
  ok(a.generation > 0, 'generation');
  const c = t.lookup('c');
  eq(['failing', 503, 'server', 3, 0], [c.state, c.httpStatus, c.errorClass, c.failsInRow, c.warmForSeconds],
     'a failing model');
  const b = t.lookup('b');
  eq(['unknown', 1], [b.state, b.slot], 'a never-probed model');
  ok(t.lookup('a') !== t.lookup('a'), 'each lookup is its own copy');
});

test('touch and report', async () => {
  const shm = shmName();
  await fill(shm, ['--models', 'a,b', '--warm', 'a']);
  const t = new Table(shm, { lazy: false });
  const before = demand(shm, 1).touches;
  eq([true, true], [t.touch('b'), t.touch('b')], 'touch twice');
  eq(before + 2, demand(shm, 1).touches, 'two touches landed');
  eq(true, t.report('b', 250000, true), 'report a success');
  eq(true, t.report('b', 1500000, false), 'report a failure');
  const d = demand(shm, 1);
  eq([before + 4, 1, 1, 250000], [d.touches, d.real_ok, d.real_fail, d.real_latency_us],
     'report touched and counted');
  eq(true, t.report('b', 1e12, true), 'a huge latency');
  eq(0xffffffff, demand(shm, 1).real_latency_us, 'is clamped to the largest uint32');
  eq(0, demand(shm, 0).touches, 'other slots untouched');
});

test('waitWarm', async () => {
  const shm = shmName();
  await fill(shm, ['--models', 'a,b', '--warm', 'a']);
  const t = new Table(shm, { lazy: false });
  let t0 = Date.now();
  eq(true, await t.waitWarm('a', 5000), 'a warm model: true');
  ok(Date.now() - t0 < 1000, 'at once');
  // The event loop runs while waits sleep on other threads: a 10 ms timer
  // keeps firing.
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  t0 = Date.now();
  const res = await Promise.all([t.waitWarm('b', 300), t.waitWarm('b', 300), t.waitWarm('b', 300)]);
  const dt = Date.now() - t0;
  clearInterval(timer);
  eq([false, false, false], res, 'three waits on a cold model time out');
  ok(dt >= 290 && dt < 2000, `after the timeout (${dt} ms)`);
  ok(ticks >= dt / 10 / 3, `the event loop ran meanwhile (${ticks} ticks of 10 ms in ${dt} ms)`);
  eq(0, t.lastError(), 'a timeout is not an error');
  ok(demand(shm, 1).touches >= 1, 'waitWarm touched the model');
  eq(false, await t.waitWarm('b', 0), 'a zero timeout');
});

test('model handles', async () => {
  const shm = shmName();
  await fill(shm, ['--models', 'a,b,c', '--warm', 'a,c']);
  const t = new Table(shm, { lazy: false });
  eq([true, false, true, false], [t.isWarm('a'), t.isWarm('b'), t.isWarm('c'), t.isWarm('zz')], 'reads');
  eq(4, t.resolved(), 'each name resolved once');
  eq([0, 2], [t.lookup('a').slot, t.lookup('c').slot], 'their slots');
  await stopAll();
  await fill(shm, ['--models', 'c,x,b,a', '--warm', 'b']);
  ok(await until(() => t.isWarm('b'), 5000), 'the handles followed a replaced segment');
  eq([false, true, false], [t.isWarm('a'), t.isWarm('b'), t.isWarm('c')], 'the new table\'s warmth');
  eq([['a', 3], ['c', 0], ['b', 2]], ['a', 'c', 'b'].map((m) => [t.lookup(m).name, t.lookup(m).slot]),
     'each lookup is its own model, at its new slot');
  await stopAll();
  const names = Array.from({ length: 400 }, (_, i) => `m${i}`);
  await fill(shm, ['--models', names.join(','), '--warm', 'm7,m300']);
  ok(await until(() => t.isWarm('m7'), 5000), 'a third segment');
  eq(['m7', 'm300'], names.filter((m) => t.isWarm(m)), '400 models asked: the warm ones');
  eq(warmth.MODELS_MAX, t.resolved(), `the handles stopped at their bound (${warmth.MODELS_MAX})`);
  eq(['m399', 399], [t.lookup('m399').name, t.lookup('m399').slot], 'a model past the bound, by name');
});

test('status and models', async () => {
  const shm = shmName();
  const p = await fill(shm, ['--models', 'm0,m1,m2', '--warm', 'm1', '--capacity', '32']);
  const t = new Table(shm, { lazy: false });
  const s = t.status();
  eq([p.pid, 3, 32, false, 0, true], [s.pid, s.models, s.capacity, s.stale, s.retired, s.alive], 'status');
  ok(typeof s.heartbeatAgeNs === 'bigint' && s.heartbeatAgeNs < s.staleAfterNs, 'heartbeat age');
  const all = t.models();
  eq(['m0', 'm1', 'm2'], Object.keys(all), 'models() in slot order');
  eq(['unknown', 'warm', 'unknown'], Object.values(all).map((m) => m.state), 'with their states');
});

test('stale and retired', async () => {
  let shm = shmName();
  await fill(shm, ['--models', 'a', '--warm', 'a', '--stale']);
  await sleep(300); // beyond --stale's 100 ms bound
  let t = new Table(shm, { lazy: false });
  eq([false, 0, 'warm', true], [t.isWarm('a'), t.lastError(), t.lookup('a').state, t.status().stale],
     'old warmth is not trusted; the record still says warm');
  shm = shmName();
  const p = await fill(shm, ['--models', 'a', '--warm', 'a', '--retire'], 0.5);
  t = new Table(shm, { lazy: false });
  eq(true, t.isWarm('a'), 'warm while live');
  await new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', r)));
  eq([false, 1, false], [t.isWarm('a'), t.status().retired, t.status().alive], 'a retired table reads cold');
});

test('close', async () => {
  const shm = shmName();
  await fill(shm, ['--models', 'a,b', '--warm', 'a']);
  const t = new Table(shm, { lazy: false });
  const m0 = maps(shm);
  const wait = t.waitWarm('b', 300); // in flight across close()
  t.close();
  t.close();
  eq(false, t.isOpen(), 'closed, twice');
  for (const [what, fn] of [['isWarm', () => t.isWarm('a')], ['touch', () => t.touch('a')],
                            ['lookup', () => t.lookup('a')], ['status', () => t.status()]]) {
    throws('WARMTH_EINVAL', fn, `${what} after close`);
  }
  await rejects('WARMTH_EINVAL', t.waitWarm('a', 1), 'waitWarm after close');
  eq(false, await wait, 'a wait in flight finished after close()');
  ok(maps(shm) < m0, 'and then the mapping was released');
  for (let i = 0; i < 200; i++) {
    const u = new Table(shm, { lazy: false });
    u.isWarm('a');
    u.close();
  }
  eq(maps(shm), maps(shm), 'stable');
  ok(maps(shm) <= m0 - 1, 'no mapping leaked by 200 open/close');
});

test('process table', async () => {
  const shm = shmName();
  await fill(shm, ['--models', 'a,b', '--warm', 'a']);
  const code = `
    const w = require(${JSON.stringify(process.env.WARMTH_NODE || path.join(__dirname, '..'))});
    (async () => {
      const r = [w.isWarm('a'), w.isWarm('b'), w.touch('b'), w.report('b', 250000, true), w.lookup('a').name,
                 await w.waitWarm('b', 50), w.isWarm('zz'), w.lastError(), w.table() === w.table(),
                 w.table().resolved(), w.status().models];
      console.log(JSON.stringify(r));
    })();`;
  const out = execFileSync(process.execPath, ['-e', code], { env: { ...process.env, WARMTH_SHM: shm },
                                                             encoding: 'utf8' });
  eq([true, false, true, true, 'a', false, false, E.NOTFOUND, true, 3, 2], JSON.parse(out),
     'the module functions use the process table of $WARMTH_SHM');
  eq(1, demand(shm, 1).real_ok, 'its report landed');
});

// ---- run ------------------------------------------------------------------------

(async () => {
  const filter = process.argv[2];
  for (const [name, fn] of tests) {
    if (filter && !name.includes(filter)) continue;
    current = name;
    try {
      await fn();
    } catch (e) {
      failed++;
      console.log(`FAIL - ${name}: uncaught ${e.stack}`);
    } finally {
      await stopAll();
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
})();
