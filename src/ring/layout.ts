/**
 * Memory layout of a shmnet region: offsets and constants only, no logic.
 *
 * One region (one SharedArrayBuffer) per connection:
 *
 * ```
 *  0                  HEADER_SIZE (4096)
 *  +------------------+-----------------+----------------------+-----------------+----------------------+
 *  | region header    | ring 0 control  | ring 0 data          | ring 1 control  | ring 1 data          |
 *  | (one page)       | 512 bytes       | `capacity` bytes     | 512 bytes       | `capacity` bytes     |
 *  +------------------+-----------------+----------------------+-----------------+----------------------+
 *                     ring 0 = client → server (RING_C2S)      ring 1 = server → client (RING_S2C)
 *
 *  region size = HEADER_SIZE + 2 * (RING_CONTROL_SIZE + capacity)
 * ```
 *
 * Region header (all fields unsigned 32-bit little-endian; written once by
 * the creator before the handshake hands the region over, so plain reads):
 *
 * ```
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                     magic 0x53484d4e 'SHMN'                   |  0  MAGIC_OFFSET
 *  +---------------------------------------------------------------+
 *  |                     layout version (1)                        |  4  VERSION_OFFSET
 *  +---------------------------------------------------------------+
 *  |                     total region size in bytes                |  8  REGION_SIZE_OFFSET
 *  +---------------------------------------------------------------+
 *  |                     ring capacity in bytes (power of two)     | 12  CAPACITY_OFFSET
 *  +---------------------------------------------------------------+
 *  |                     byte offset of ring 0 (its control block) | 16  RING0_START_OFFSET
 *  +---------------------------------------------------------------+
 *  |                     byte offset of ring 1 (its control block) | 20  RING1_START_OFFSET
 *  +---------------------------------------------------------------+
 *  |                     creator pid                               | 24  CREATOR_PID_OFFSET
 *  +---------------------------------------------------------------+
 *  |                     reserved, 0                               | 28  RESERVED_OFFSET
 *  +---------------------------------------------------------------+
 *  |                                                               | 32  TOKEN_OFFSET
 *  +                     token (16 random bytes)                   +
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                     zero up to HEADER_SIZE                    | 48  HEADER_FIELDS_END
 * ```
 *
 * Ring control block: every hot word sits alone in its own 128-byte block
 * (two 64-byte cache lines, so adjacent-line prefetch cannot make the two
 * sides share a line). Words are native-endian Int32, accessed with Atomics.
 *
 * ```
 *  byte  +0   +4                                                   +128
 *        +----+----+-------------------------------------------------+
 *    0   |head|fin |  padding            producer-owned              |  HEAD_OFFSET, FIN_OFFSET
 *        +----+----+-------------------------------------------------+
 *  128   |tail|       padding            consumer-owned              |  TAIL_OFFSET
 *        +----+------------------------------------------------------+
 *  256   |cPk |       padding            consumerParked              |  CONSUMER_PARKED_OFFSET
 *        +----+------------------------------------------------------+
 *  384   |pPk |       padding            producerParked              |  PRODUCER_PARKED_OFFSET
 *        +----+------------------------------------------------------+
 *  512   data area (`capacity` bytes) starts here
 * ```
 *
 * `head` and `tail` are free-running 32-bit byte counters compared with
 * wrapping subtraction; a byte at counter value `c` lives at data offset
 * `c & (capacity - 1)`.
 */

// ---- region --------------------------------------------------------------

/** Size of the region header: one page. */
export const HEADER_SIZE = 4096;
/** 'SHMN' read as a 32-bit integer. */
export const REGION_MAGIC = 0x53484d4e;
export const LAYOUT_VERSION = 1;
/** Length of the per-connection random token. */
export const TOKEN_LENGTH = 16;

/** Index of the client → server ring. */
export const RING_C2S = 0;
/** Index of the server → client ring. */
export const RING_S2C = 1;
export const RING_COUNT = 2;

// ---- region header fields (byte offsets from the start of the region) ------

export const MAGIC_OFFSET = 0;
export const VERSION_OFFSET = 4;
export const REGION_SIZE_OFFSET = 8;
export const CAPACITY_OFFSET = 12;
/** Field holding the byte offset where ring 0 (client → server) starts. */
export const RING0_START_OFFSET = 16;
/** Field holding the byte offset where ring 1 (server → client) starts. */
export const RING1_START_OFFSET = 20;
export const CREATOR_PID_OFFSET = 24;
export const RESERVED_OFFSET = 28;
export const TOKEN_OFFSET = 32;
export const HEADER_FIELDS_END = TOKEN_OFFSET + TOKEN_LENGTH;

// ---- ring capacity -------------------------------------------------------

export const MIN_CAPACITY = 4096;
/** Keeps `head - tail` meaningful with 32-bit counters and the region under 4 GiB. */
export const MAX_CAPACITY = 2 ** 30;
/** 1 MiB per direction: the knee of the throughput curve in bench/ (see README, Benchmarks). */
export const DEFAULT_RING_SIZE = 1 << 20;
/**
 * Upper bound on the total size a peer may announce for a region: two
 * rings of MAX_CAPACITY plus header and control pages, with room for
 * 64 KiB pages. The exact size is checked against the header.
 */
export const MAX_RING_REGION_SIZE = 2 * MAX_CAPACITY + 16 * 65536;

// ---- ring control block (byte offsets from the start of the control block) --

/** Each hot word gets a block of this many bytes to itself. */
export const CACHE_BLOCK_SIZE = 128;
export const RING_CONTROL_SIZE = 4 * CACHE_BLOCK_SIZE;
/** Length of the control block in Int32 words. */
export const RING_CONTROL_WORDS = RING_CONTROL_SIZE / 4;

/** Producer-owned: bytes ever published (free-running Int32). */
export const HEAD_OFFSET = 0;
/** Producer-owned: 1 once the producer has published its last head; FIN_ABORTED once it reset the stream. */
export const FIN_OFFSET = 4;
/** The fin word's value after an abortive close: the consumer discards what is left and reports a reset. */
export const FIN_ABORTED = 2;
/** Consumer-owned: bytes ever consumed (free-running Int32). */
export const TAIL_OFFSET = CACHE_BLOCK_SIZE;
/** Non-zero while the consumer waits for data (set by the consumer, cleared by whoever wakes it). */
export const CONSUMER_PARKED_OFFSET = 2 * CACHE_BLOCK_SIZE;
/** Non-zero while the producer waits for space (set by the producer, cleared by whoever wakes it). */
export const PRODUCER_PARKED_OFFSET = 3 * CACHE_BLOCK_SIZE;
/** The data area follows the control block directly. */
export const RING_DATA_OFFSET = RING_CONTROL_SIZE;

// ---- the same words as Int32 slot indices into the control block ---------

export const HEAD_INDEX = HEAD_OFFSET / 4;
export const FIN_INDEX = FIN_OFFSET / 4;
export const TAIL_INDEX = TAIL_OFFSET / 4;
export const CONSUMER_PARKED_INDEX = CONSUMER_PARKED_OFFSET / 4;
export const PRODUCER_PARKED_INDEX = PRODUCER_PARKED_OFFSET / 4;
