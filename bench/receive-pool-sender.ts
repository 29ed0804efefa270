/**
 * The sending peer of receive-pool.ts, in its own process: on each
 * `{ cmd: 'send', path, size, bytes }` it connects, writes `bytes` in
 * `size`-byte chunks as fast as backpressure allows, ends, and reports
 * its CPU time for that sample.
 */
import { connect } from '../src/index.js';

interface SendCmd {
  cmd: 'send' | 'exit';
  path: string;
  size: number;
  bytes: number;
}

process.on('message', (m: SendCmd) => {
  if (m.cmd === 'exit') process.exit(0);
  const cpu0 = process.cpuUsage();
  const chunk = Buffer.alloc(m.size, 0x5a);
  const conn = connect({ path: m.path });
  let sent = 0;
  const pump = (): void => {
    while (sent < m.bytes) {
      sent += m.size;
      if (!conn.write(chunk)) {
        conn.once('drain', pump);
        return;
      }
    }
    conn.end();
  };
  conn.once('connect', pump);
  conn.resume();
  conn.once('close', () => {
    const cpu = process.cpuUsage(cpu0);
    process.send!({ event: 'sent', cpuSeconds: (cpu.user + cpu.system) / 1e6 });
  });
});
process.send!({ event: 'ready' });
