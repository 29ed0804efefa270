/**
 * Which machine (and which boot of it) this process runs on. Client and
 * server compare their ids in the handshake: only equal ids may try shared
 * memory. Equal ids are a hint, not a proof — the client's mapping and
 * token echo decide (a container with the same hostname but its own
 * /dev/shm fails to map and falls back).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { invalidArg } from '../errors.js';
import { MAX_HOST_ID_LENGTH } from './messages.js';

/** Environment variable that overrides `hostId()` (read on every call). */
export const HOST_ID_ENV = 'SHMNET_HOST_ID';

const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';

let computed: string | undefined;

function bootPart(): string {
  if (process.platform === 'linux') {
    try {
      const id = readFileSync(BOOT_ID_PATH, 'latin1').trim();
      if (id.length > 0 && id.length <= 64) return id;
    } catch {
      // unreadable (sandbox, old kernel): use the boot time below
    }
  }
  // Boot time to the minute: stable across processes of one boot, except
  // near a minute boundary where two processes may round apart (then they
  // just fall back to TCP).
  const bootSeconds = Date.now() / 1000 - os.uptime();
  return `boot-${Math.round(bootSeconds / 60) * 60}`;
}

function compute(): string {
  const boot = bootPart();
  const host = os.hostname().slice(0, MAX_HOST_ID_LENGTH - boot.length - 1);
  return `${host}:${boot}`;
}

/**
 * This host's id: `hostname:bootId` (the Linux boot id; elsewhere, or when
 * it is unreadable, `hostname:boot-<boot time in s, rounded to the minute>`).
 * Computed once. The environment variable `SHMNET_HOST_ID`, when set and
 * non-empty, replaces it — tests use it to force the TCP fallback.
 *
 * @throws ShmnetTypeError `SHMNET_ERR_INVALID_ARG` when `SHMNET_HOST_ID` is
 *   longer than 256 characters.
 */
export function hostId(): string {
  const override = process.env[HOST_ID_ENV];
  if (override !== undefined && override !== '') {
    if (override.length > MAX_HOST_ID_LENGTH) {
      throw invalidArg(`${HOST_ID_ENV} must be at most ${MAX_HOST_ID_LENGTH} characters, got ${override.length}`);
    }
    return override;
  }
  return (computed ??= compute());
}
