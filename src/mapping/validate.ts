/** Argument checks shared by the mapping constructors. */
import { constants as bufferConstants } from 'node:buffer';
import { invalidArg, outOfRange } from '../errors.js';

/** The largest region one Buffer view can cover on this Node version. */
export const MAX_REGION_SIZE = bufferConstants.MAX_LENGTH;

export function checkSize(name: string, v: unknown, { allowZero = false } = {}): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalidArg(`${name} must be an integer, got ${String(v)}`);
  if (v < 0 || (v === 0 && !allowZero)) throw outOfRange(`${name} must be positive, got ${v}`);
  if (v > MAX_REGION_SIZE) throw outOfRange(`${name} ${v} exceeds the largest mappable region (${MAX_REGION_SIZE})`);
  return v;
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
