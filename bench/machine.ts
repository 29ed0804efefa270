/** What the results were measured on. */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  hostname: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  arch: string;
  node: string;
  v8: string;
  virtualized: string | null;
  date: string;
}

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1]!;
  } catch {
    // not Linux
  }
  return `${os.type()} ${os.release()}`;
}

/** The hypervisor named in /proc/cpuinfo's flags ("hypervisor") or by lscpu-style sysfs, if any. */
function virtualization(): string | null {
  try {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    if (!/^flags\s*:.*\bhypervisor\b/m.test(cpuinfo)) return null;
    try {
      return readFileSync('/sys/class/dmi/id/sys_vendor', 'utf8').trim() || 'hypervisor';
    } catch {
      return 'hypervisor';
    }
  } catch {
    return null;
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: osName(),
    kernel: os.release(),
    arch: process.arch,
    node: process.version,
    v8: process.versions.v8,
    virtualized: virtualization(),
    date: new Date().toISOString(),
  };
}

export function describeMachine(m: MachineInfo): string {
  const vm = m.virtualized === null ? '' : m.virtualized === 'hypervisor' ? ', virtual machine' : `, virtual machine (${m.virtualized})`;
  return `${m.cpuModel}, ${m.cores} cores${vm}, ${m.memoryGiB} GiB, ${m.os} (kernel ${m.kernel}, ${m.arch}), Node ${m.node}, ${m.date.slice(0, 10)}`;
}

/** A short name of the machine, for the line under every table and chart. */
export function machineShort(m: MachineInfo): string {
  const vm = m.virtualized === null ? '' : ' VM';
  return `${m.cpuModel}, ${m.cores}-core${vm}, Node ${m.node}, ${m.date.slice(0, 10)}`;
}

/** The line under every table of the report. */
export function measuredOn(m: MachineInfo): string {
  return `_Measured on ${machineShort(m)}: absolute figures are this machine's; compare ratios._`;
}
