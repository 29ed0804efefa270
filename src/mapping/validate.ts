/** Argument checks shared by the mapping constructors. */
import { constants as bufferConstants } from 'node:buffer';
import { invalidArg, outOfRange } from '../errors.js';
import * as native from '../native.js';

/** The largest mapping one Buffer view can cover on this Node version (not the ring region bound, MAX_RING_REGION_SIZE). */
export const MAX_MAPPING_SIZE = bufferConstants.MAX_LENGTH;

/** A non-negative integer no larger than `max` (default: what one mapping can cover). */
export function checkSize(name: string, v: unknown, { allowZero = false, max = MAX_MAPPING_SIZE } = {}): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalidArg(`${name} must be an integer, got ${String(v)}`);
  if (v < 0 || (v === 0 && !allowZero)) throw outOfRange(`${name} must be positive, got ${v}`);
  if (v > max) throw outOfRange(`${name} ${v} exceeds the largest mappable region (${max})`);
  return v;
}

export function checkBoolean(name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalidArg(`${name} must be a boolean, got ${String(v)}`);
  return v;
}

/** The `populate` and `hugePages` options every mapping constructor accepts, as addon flags. */
export interface MapHints {
  /** Preload the pages at map time; `region.preload` tells what was done. */
  populate?: boolean;
  /** Ask for huge pages; `region.hugePages` tells which were used. */
  hugePages?: boolean;
}

export function mapFlags(o: Partial<MapHints>): number {
  return (
    (checkBoolean('populate', o.populate) ? native.MAP_POPULATE : 0) |
    (checkBoolean('hugePages', o.hugePages) ? native.MAP_HUGETLB : 0)
  );
}

export function checkMode(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0o777) {
    throw invalidArg(`mode must be a permission number such as 0o600, got ${String(v)}`);
  }
  return v;
}

export function checkOptions<T extends object>(v: unknown, what: string): Partial<T> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null) throw invalidArg(`${what} options must be an object`);
  return v as Partial<T>;
}
