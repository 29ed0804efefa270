/** Message mode: length-prefixed msgpackr values over a Conn. */
export { MessageConn, DEFAULT_MAX_MESSAGE_SIZE, MESSAGE_HEADER_SIZE } from './message-conn.js';
export type { MessageConnOptions } from './message-conn.js';
