/**
 * Worker-thread side of the task round trips (tasks.ts).
 *
 *   - as a piscina task module: the default export returns its argument;
 *   - as a plain worker (workerData `{ kind, port }`): echoes every message,
 *     over a worker channel through MessageConn, or over a MessagePort.
 */
import { isMainThread, workerData, type MessagePort } from 'node:worker_threads';
import { MessageConn, openChannel, type ChannelPort } from '../src/index.js';

export default function echo<T>(task: T): T {
  return task;
}

interface EchoJob {
  kind: 'channel' | 'port';
  port: ChannelPort | MessagePort;
}

const job = (isMainThread ? null : workerData) as Partial<EchoJob> | null;
if (job?.kind === 'channel') {
  const mc = new MessageConn(openChannel(job.port as ChannelPort));
  mc.on('message', (m: unknown) => mc.send(m));
  mc.on('end', () => mc.end());
} else if (job?.kind === 'port') {
  const port = job.port as MessagePort;
  port.on('message', (m: unknown) => port.postMessage(m));
}
