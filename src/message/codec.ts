/**
 * The MessagePack codecs behind `MessageConn`, and the frame flag that says
 * which one packed a frame.
 *
 * Two encodings:
 *
 *   - map (the default): each object is a MessagePack map, keys and all,
 *     in every frame (msgpackr `useRecords: false`). Every frame stands
 *     alone; a receiver keeps nothing from one frame to the next.
 *   - records (`records: true` on both sides): msgpackr's sequential
 *     records. The first frame that carries an object of a new shape (its
 *     keys, in order) also carries the shape's definition under a one-byte
 *     id; later objects of that shape are the id and the values only. So
 *     a 64-byte map becomes 42 bytes, and decoding skips every key. The
 *     sender defines at most 64 shapes at a time and reuses the oldest id
 *     (redefining it inline) for the 65th.
 *
 * A records frame has the top bit of its length prefix set (RECORDS_FLAG;
 * lengths never reach it, since maxMessageSize is at most 2^30), so a
 * receiver that did not opt in refuses it instead of misreading a record
 * reference as a small integer.
 *
 * ## What a records receiver keeps
 *
 * Definitions persist from frame to frame, so this is the one place a
 * peer's bytes outlive their frame. The receiver's table has exactly
 * RECORD_SLOTS slots and cannot grow (`Object.preventExtensions`):
 * msgpackr's two-byte ids, which would address up to 16,320 entries, are
 * refused (the write throws; the frame is malformed). So a peer can make a
 * receiver keep at most RECORD_SLOTS definitions, each no bigger than one
 * frame: at most RECORD_SLOTS × maxMessageSize bytes of keys, plus one
 * small compiled reader per definition (msgpackr builds it with
 * `new Function` from the keys, each quoted by `JSON.stringify`).
 */
import { Packr, Unpackr } from 'msgpackr';

/** Set in a frame's length prefix when the frame was packed with records. */
export const RECORDS_FLAG = 0x8000_0000;
/** The length bits of a length prefix. */
export const LENGTH_MASK = 0x7fff_ffff;
/** Record definitions a records receiver keeps: msgpackr's one-byte ids 0x40–0x7f. */
export const RECORD_SLOTS = 64;

/** A packer for one connection's outgoing frames (stateful in records mode: see above). */
export function createPackr(records: boolean): Packr {
  return records ? new Packr({ sequential: true, maxOwnStructures: RECORD_SLOTS }) : new Packr({ useRecords: false });
}

/** The decoder of map frames: nothing outlives a frame. */
export function createMapUnpackr(): Unpackr {
  return new Unpackr({ useRecords: false });
}

/** The decoder of records frames, with its fixed table of RECORD_SLOTS definitions. */
export function createRecordsUnpackr(): Unpackr {
  // Every slot exists (holds undefined), so the table can be sealed at its size.
  const structures = new Array<unknown>(RECORD_SLOTS).fill(undefined);
  // mapsAsObjects: a MessagePack map decodes to a plain object, as in map
  // mode (msgpackr would give a Map once records are on).
  const u = new Unpackr({ sequential: true, mapsAsObjects: true, structures: structures as object[] });
  // The constructor has set what it needs on the table (sharedLength);
  // from here on only the 64 existing slots can be written.
  Object.preventExtensions(structures);
  return u;
}
