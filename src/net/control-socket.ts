/**
 * How an engine takes over the control socket's events and gives them
 * back. The listeners are module-level functions that find their engine
 * through a symbol on the socket, so no closure is created per connection
 * (as ws does); each engine passes its own table of them.
 */
import type { Socket } from 'node:net';

/** An engine's listeners for the control socket. */
export interface SocketListeners {
  data(this: Socket, chunk: Buffer): void;
  end(this: Socket): void;
  close(this: Socket): void;
  error(this: Socket, err: Error): void;
}

function noop(): void {}

/** Turns Nagle off (doorbells and fallback bytes go out at once) and attaches the listeners. */
export function listenToSocket(s: Socket, listeners: SocketListeners): void {
  if (typeof s.setNoDelay === 'function') s.setNoDelay(true);
  s.on('data', listeners.data);
  s.on('end', listeners.end);
  s.on('close', listeners.close);
  s.on('error', listeners.error);
}

/** Detaches the listeners; an 'error' after that is swallowed, not thrown. */
export function stopListening(s: Socket, listeners: SocketListeners): void {
  s.off('data', listeners.data);
  s.off('end', listeners.end);
  s.off('close', listeners.close);
  s.off('error', listeners.error);
  s.on('error', noop);
}
