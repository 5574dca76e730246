// Types of the warmth Node addon (index.js); see doc/node.md.

/** One consistent copy of a model's record.  Times are CLOCK_MONOTONIC
 * nanoseconds, the clock of process.hrtime.bigint() (0n = never). */
export interface ModelInfo {
  name: string;
  state: 'unknown' | 'warming' | 'warm' | 'failing' | 'idle' | 'disabled' | 'reachable' | 'sleeping' | string;
  stateCode: number;
  httpStatus: number;
  warmUntil: bigint;
  lastProbe: bigint;
  lastOk: bigint;
  retryAfterUntil: bigint;
  successes: number;
  failures: number;
  tokensIn: number;
  tokensOut: number;
  tokensCached: number;
  costNusd: number;
  lastLatencyUs: number;
  ewmaLatencyUs: number;
  dnsUs: number;
  connectUs: number;
  tlsUs: number;
  ttfbUs: number;
  failsInRow: number;
  flags: number;
  errorClass: string;
  errorClassCode: number;
  endpoint: number;
  headroomRequests: number;
  headroomTokens: number;
  slot: number;
  generation: number;
  intervalMs: number;
  warmTtlMs: number;
  /** seconds it stays warm from the copy, 0 unless warm */
  warmForSeconds: number;
}

/** Coordinator liveness from the segment header. */
export interface Status {
  pid: number;
  heartbeatAgeNs: bigint;
  staleAfterNs: bigint;
  createdNs: bigint;
  /** 0 live, 1 retired (clean stop), 2 superseded */
  retired: number;
  stale: boolean;
  alive: boolean;
  models: number;
  capacity: number;
  indexGeneration: number;
}

/** Thrown by lookup(), status(), models() and for a caller's mistake. */
export interface WarmthError extends Error {
  /** "WARMTH_ENOTFOUND", ... */
  code: string;
  /** the library's negative code, one of `errors` */
  errno: number;
}

export class Table {
  /** shm null: $WARMTH_SHM, else "/warmth".  lazy (default): no segment yet is fine. */
  constructor(shm?: string | null, options?: { lazy?: boolean });
  readonly shm: string | null;
  isWarm(name: string): boolean;
  touch(name: string): boolean;
  report(name: string, latencyUs: number, ok: boolean): boolean;
  waitWarm(name: string, timeoutMs: number): Promise<boolean>;
  lookup(name: string): ModelInfo;
  models(): Record<string, ModelInfo>;
  status(): Status;
  lastError(): number;
  resolved(): number;
  isOpen(): boolean;
  close(): void;
}

/** This process's table ($WARMTH_SHM or "/warmth"), opened on first use. */
export function table(): Table;
export function isWarm(name: string): boolean;
export function touch(name: string): boolean;
export function report(name: string, latencyUs: number, ok: boolean): boolean;
export function waitWarm(name: string, timeoutMs: number): Promise<boolean>;
export function lookup(name: string): ModelInfo;
export function models(): Record<string, ModelInfo>;
export function status(): Status;
export function lastError(): number;
export function errName(code: number): string;
export function strerror(code: number): string;
export const version: string;
export const errors: Record<string, number>;
export const NAME_MAX: number;
export const MODELS_MAX: number;
