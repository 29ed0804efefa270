/**
 * Task round trips between the main thread and one worker thread: send a
 * 64-byte object, wait for it to come back. piscina (a worker pool over
 * MessagePort, one thread here) is a data point, not a byte transport; a
 * MessageConn over a worker channel and a bare MessagePort are the same
 * exchange without a pool. The worker side is task-echo.ts.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import type * as PiscinaModule from 'piscina';
import { createChannel, MessageConn, openChannel } from '../src/index.js';
import { InFlight, type Exchanger } from './latency.js';
import { MESSAGE_FIRST_ID, message64 } from './message.js';
import { requirePeer } from './optional.js';
import { exchangerOver } from './message-rpc.js';

export type TaskKind = 'piscina' | 'channel' | 'port';

function echoPath(): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`./task-echo${extname(self)}`, import.meta.url));
}

async function piscinaExchanger(): Promise<Exchanger> {
  const { Piscina } = await requirePeer<typeof PiscinaModule>('piscina');
  const pool = new Piscina({ filename: echoPath(), minThreads: 1, maxThreads: 1, execArgv: process.execArgv });
  const msg = message64(MESSAGE_FIRST_ID);
  await pool.run(msg); // the thread is up
  return {
    exchange(done) {
      msg.id++;
      const id = msg.id;
      pool.run(msg).then((r: { id: number }) => done(r.id === id ? undefined : new Error(`piscina: result ${r.id} for task ${id}`)), done);
    },
    close: () => pool.destroy(),
  };
}

function workerExchanger(kind: 'channel' | 'port'): Exchanger {
  if (kind === 'channel') {
    const { port1, port2 } = createChannel();
    const worker = new Worker(echoPath(), { workerData: { kind, port: port2 }, execArgv: process.execArgv });
    const ex = exchangerOver(new MessageConn(openChannel(port1)), 'worker channel');
    return { exchange: ex.exchange, close: () => ex.close().then(() => worker.terminate()).then(() => undefined) };
  }
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(echoPath(), { workerData: { kind, port: port2 }, transferList: [port2], execArgv: process.execArgv });
  const msg = message64(MESSAGE_FIRST_ID);
  const flight = new InFlight();
  port1.on('message', (m: { id: number }) => flight.settle(m.id === msg.id ? undefined : new Error(`MessagePort: reply ${m.id} to ${msg.id}`)));
  return {
    exchange(done) {
      flight.start(done);
      msg.id++;
      port1.postMessage(msg);
    },
    async close() {
      port1.close();
      await worker.terminate();
    },
  };
}

export async function taskExchanger(kind: TaskKind): Promise<Exchanger> {
  return kind === 'piscina' ? piscinaExchanger() : workerExchanger(kind);
}
