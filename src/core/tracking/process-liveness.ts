import { readFileSync } from 'node:fs';

/**
 * Whether the process that started a run is still alive. Only answerable on the host that
 * ran it; elsewhere the run is reported as recorded.
 */
export interface ProcessProbe {
  readonly host: string;
  /** `startedAtMs` guards against pid reuse: a process started after the run is not it. */
  isAlive(pid: number, startedAtMs: number): boolean;
}

/** Linux: /proc/<pid>/stat start time; elsewhere, signal 0 only. */
export function createProcessProbe(host: string): ProcessProbe {
  return { host, isAlive: isProcessAlive };
}

export function isProcessAlive(pid: number, startedAtMs: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = linuxProcessStartMs(pid);
  // Allow clock-tick rounding and a little skew between the run's clock and the kernel's.
  return started === undefined || started <= startedAtMs + 5_000;
}

let bootTimeMs: number | undefined | null = null;

function linuxBootTimeMs(): number | undefined {
  if (bootTimeMs !== null) return bootTimeMs;
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('btime '));
    bootTimeMs = line === undefined ? undefined : Number(line.slice(6)) * 1000;
  } catch {
    bootTimeMs = undefined;
  }
  return bootTimeMs;
}

/** Clock ticks per second; 100 on every mainstream Linux configuration. */
const CLOCK_TICKS = 100;

function linuxProcessStartMs(pid: number): number | undefined {
  const boot = linuxBootTimeMs();
  if (boot === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? boot + (ticks / CLOCK_TICKS) * 1000 : undefined;
  } catch {
    return undefined;
  }
}
