export {
  DEFAULT_MAX_FRAME_SIZE,
  FRAME_HEADER_SIZE,
  MAX_FRAME_DEPTH,
  encodeFrame,
  FrameReader,
  type FrameReaderOptions,
  type FrameValue,
} from './frames.js';
export {
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  MAX_HOST_ID_LENGTH,
  MAX_SHM_NAME_LENGTH,
  MAX_REASON_LENGTH,
  MAX_CODE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MAX_PID,
  TRANSPORT_CHOICES,
  parseHello,
  parseServerReply,
  parseClientReply,
  parseMessage,
  encodeMessage,
  type TransportChoice,
  type HelloMessage,
  type MapInfoMessage,
  type FallbackMessage,
  type RejectMessage,
  type AckMessage,
  type NackMessage,
  type ServerReply,
  type ClientReply,
  type HandshakeMessage,
  type HandshakeMessageType,
} from './messages.js';
export { HOST_ID_ENV, hostId } from './host-id.js';
export { serverHandshake } from './server.js';
export type { ServerHandshakeOptions } from './server.js';
export type { HandshakeOutcome, ShmOutcome, SocketOutcome } from './outcome.js';
export { clientHandshake } from './client.js';
export type { ClientHandshakeOptions } from './client.js';
export { createSegment, segmentName, segmentCreator, unlinkQuietly, SEGMENT_PREFIX } from './segment.js';
export { sweepStale, sweepStaleOnce, processExists, SHM_DIRECTORY } from './sweep.js';
export { pendingSegmentNames } from './segment.js';
