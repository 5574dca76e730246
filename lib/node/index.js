'use strict';
/*
 * warmth: read the per-host LLM warmth table kept by warmd (doc/node.md).
 *
 *   const warmth = require('warmth');
 *   if (!warmth.isWarm('gpt-4.1')) { ... pick another model, or go on cold }
 *   warmth.touch('gpt-4.1');                  // "this worker uses it"
 *   ...call the API...
 *   warmth.report('gpt-4.1', latencyUs, ok);
 *   await warmth.waitWarm('gpt-4.1', 2000);   // a Promise: the loop goes on
 *
 * The module-level functions use this process's table: $WARMTH_SHM (else
 * "/warmth"), opened lazily on first use (no coordinator yet is fine: calls
 * attach by themselves), never closed.  Each model name is resolved once per
 * process into a model handle (the addon's Model), kept in a Map: a later
 * call reads the model's record without hashing the name again.  The Map is
 * capped (MODELS_MAX): beyond, names are asked by name, so user input
 * cannot grow the process.
 *
 * The per-request calls (isWarm, touch, report, waitWarm) never throw for
 * an absent, stale or busy coordinator or an unknown model: they answer
 * false and lastError() says why.  They throw for a caller's mistake (a bad
 * name).  lookup(), status() and models() throw an Error with .code
 * ("WARMTH_ENOENT", ...) and .errno (the library's negative code).
 */
const path = require('path');

function loadAddon() {
  // WARMTH_NODE_ADDON: an explicit path (tests, a build tree); else the
  // copy built next to this file (make, node-gyp).
  const tried = [];
  for (const p of [process.env.WARMTH_NODE_ADDON,
                   path.join(__dirname, 'build', 'Release', 'warmth.node'),
                   path.join(__dirname, 'warmth.node')]) {
    if (!p) continue;
    try {
      return require(p);
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
      tried.push(p);
    }
  }
  throw new Error(`warmth: the addon is not built (looked for ${tried.join(', ')}); ` +
                  'see doc/node.md');
}

const native = loadAddon();
const MODELS_MAX = 256; // as the addon's own bound per table
const F = native.infoF64;
const I = native.infoI64;
const STATES = native.stateNames;
const CLASSES = native.errorClassNames;

/* The record lookup() just copied into the addon's arrays (warmth.cc
 * FillInfo): one object literal, far cheaper than setting its properties
 * from C.  The name is the one asked for: the library checks the record's
 * name against it and never returns another model's data. */
function infoFrom(name) {
  return {
    name,
    state: STATES[F[0]] ?? 'invalid',
    stateCode: F[0],
    httpStatus: F[1],
    warmUntil: I[0], // ns, CLOCK_MONOTONIC: process.hrtime.bigint()'s clock
    lastProbe: I[1],
    lastOk: I[2],
    retryAfterUntil: I[3],
    successes: F[2],
    failures: F[3],
    tokensIn: F[4],
    tokensOut: F[5],
    tokensCached: F[6],
    costNusd: F[7],
    lastLatencyUs: F[8],
    ewmaLatencyUs: F[9],
    dnsUs: F[10],
    connectUs: F[11],
    tlsUs: F[12],
    ttfbUs: F[13],
    failsInRow: F[14],
    flags: F[15],
    errorClass: CLASSES[F[16]] ?? 'invalid',
    errorClassCode: F[16],
    endpoint: F[17],
    headroomRequests: F[18],
    headroomTokens: F[19],
    slot: F[20],
    generation: F[21],
    intervalMs: F[22],
    warmTtlMs: F[23],
    warmForSeconds: F[24],
  };
}

class Table {
  /**
   * Opens a table: shm null means $WARMTH_SHM, else "/warmth".  Lazy (the
   * default): succeeds with no segment yet; strict: throws why it cannot be
   * used now.
   */
  constructor(shm = null, { lazy = true } = {}) {
    this._t = new native.Table(shm, lazy);
    this._models = new Map();
    this.shm = shm;
  }

  _model(name) {
    const m = this._models.get(name);
    if (m !== undefined) return m;
    if (this._models.size >= MODELS_MAX || typeof name !== 'string') return null;
    const r = this._t.resolve(name); // null: a bad name, or the addon is full
    if (r !== null) this._models.set(name, r);
    return r;
  }

  /** True if the model is warm now (and the coordinator alive). */
  isWarm(name) {
    const m = this._model(name);
    return m !== null ? m.isWarm() : this._t.isWarm(name);
  }

  /** Tells the coordinator this worker uses the model. */
  touch(name) {
    const m = this._model(name);
    return m !== null ? m.touch() : this._t.touch(name);
  }

  /** Reports a real request: its latency in microseconds and whether it
   * succeeded (a real success counts as warmth).  Also touches. */
  report(name, latencyUs, ok) {
    const m = this._model(name);
    return m !== null ? m.report(latencyUs, ok) : this._t.report(name, latencyUs, ok);
  }

  /** Touches the model and resolves true once it is warm, false after
   * timeoutMs; rejects (never throws) for a bad name or timeout.  The wait
   * holds a thread of libuv's pool (4 by default, UV_THREADPOOL_SIZE): keep
   * timeouts short, or few waits at once. */
  waitWarm(name, timeoutMs) {
    try {
      const m = this._model(name);
      return m !== null ? m.waitWarm(timeoutMs) : this._t.waitWarm(name, timeoutMs);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** One consistent copy of the model's record (times: BigInt ns of
   * process.hrtime.bigint()'s clock). */
  lookup(name) {
    const m = this._model(name);
    if (m !== null) m.lookup();
    else this._t.lookup(name);
    return infoFrom(name);
  }

  /** Every model's record, keyed by name, in slot order. */
  models() { return this._t.models(); }

  /** Coordinator liveness from the segment header. */
  status() { return this._t.status(); }

  /** Why the last per-request call answered false (a negative code), or 0. */
  lastError() { return this._t.lastError(); }

  /** Model handles this table holds. */
  resolved() { return this._t.resolved(); }

  isOpen() { return this._t.isOpen(); }

  /** Frees the handle (after any waitWarm in flight); later calls throw. */
  close() {
    this._models.clear();
    this._t.close();
  }
}

let shared = null;

/** This process's table ($WARMTH_SHM or "/warmth"), opened on first use. */
function table() {
  if (shared === null) shared = new Table(null);
  return shared;
}

module.exports = {
  Table,
  table,
  isWarm: (name) => (shared ?? table()).isWarm(name),
  touch: (name) => (shared ?? table()).touch(name),
  report: (name, latencyUs, ok) => (shared ?? table()).report(name, latencyUs, ok),
  waitWarm: (name, timeoutMs) => (shared ?? table()).waitWarm(name, timeoutMs),
  lookup: (name) => (shared ?? table()).lookup(name),
  models: () => table().models(),
  status: () => table().status(),
  lastError: () => table().lastError(),
  version: native.version,
  errors: native.errors,
  errName: native.errName,
  strerror: native.strerror,
  NAME_MAX: native.NAME_MAX,
  MODELS_MAX,
};
