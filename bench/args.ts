import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';

/** The parts of the benchmark that `--only` can pick. */
const SUITES = [
  'push',
  'pull',
  'latency',
  'rss',
  'compress',
  'phases',
  'fanout',
  'wan',
  'cpu',
] as const;
export type Suite = (typeof SUITES)[number];

/** Everything `npm run bench -- ...` can set. */
export interface BenchOptions {
  /** Sizes in bytes for the push and pull throughput tables. */
  sizes: number[];
  rounds: number;
  suites: Suite[];
  /** Size for the peak-RSS runs. */
  rssSize: number;
  /** Size for the compression runs (text and random). */
  compressSize: number;
  /** Size of the file pushed to 1, 4 and 16 targets at once (fanout suite). */
  fanOutSize: number;
  /** Size moved through the delayed link (wan suite). */
  wanSize: number;
  /** Round-trip times of the wan rows, in ms (0: the link's ceiling, tun link only). */
  wanRtts: number[];
  /** Only the wan rows whose label matches one of these globs (scp's rows always run); empty: all. */
  wanRows: string[];
  /** Size of the transfers whose CPU-seconds are counted (cpu suite). */
  cpuSize: number;
  /** Transfers per method in the small-transfer latency test. */
  latencyRuns: number;
  /** A tc rate such as `200mbit`: run everything in a network namespace with a shaped `lo`. */
  link: string | undefined;
  /** Set when this process already runs inside the namespace of that name. */
  inNetns: string | undefined;
  /** Per-command timeout override, seconds. */
  timeout: number | undefined;
  /** Skip the global `sync` between runs (faster, noisier). */
  noSync: boolean;
  /** Pins the ssh cipher of every method (`-o Ciphers=...`); default: each tool's own choice. */
  cipher: string | undefined;
  /** Starts the sandbox sshd with the glibc malloc settings sshstream gives its own ssh. */
  tunedSshd: boolean;
  /**
   * wan suite: a taskset CPU list for the server's sshd; the clients get the other CPUs, as if
   * the server were a machine of its own. Undefined: everything shares every CPU.
   */
  serverCpus: number[] | undefined;
}

export const USAGE = `usage: node dist/bench/run.js [options]   (or: npm run bench -- [options])

  --sizes LIST        push/pull sizes, e.g. 256M,1G (default 256M,1G; K/M/G are KiB/MiB/GiB)
  --rounds N          interleaved rounds per method (default 3)
  --quick             smoke test: --sizes 32M --rounds 1 (and small RSS/compress sizes)
  --only LIST         some of: ${SUITES.join(', ')} (comma-separated; default all)
  --rss-size SIZE     size of the peak-RSS push and pull (default 1G)
  --compress-size S   size of the compression runs (default: the smallest --sizes)
  --fanout-size S     size pushed to 1, 4 and 16 targets (default: the smallest --sizes)
  --wan-size S        size moved through the 20/50/100 ms RTT delay link (default 100M)
  --wan-rtts LIST     round-trip times of the wan rows in ms, even numbers (default
                      0,20,50,100; 0 is the link's own ceiling, tun link only)
  --wan-rows LIST     only the wan rows whose label matches one of these comma-separated
                      patterns (* matches anything), e.g. 'sshstream push,*--streams 8*'
                      (scp's rows, the ratios' yardstick, always run)
  --cpu-size S        size of the transfers whose CPU-seconds are counted (default 1G)
  --latency-runs N    1 KiB transfers per method in the latency test (default 20)
  --link RATE         root only: run sshd and all clients in a private network namespace
                      whose lo is shaped with tc tbf to RATE, e.g. 200mbit
  --timeout SECONDS   timeout of each measured command (default: 60 + 1 s per 4 MiB)
  --no-sync           do not run sync(1) between runs
  --cipher NAME       give every method -o Ciphers=NAME (e.g. aes128-gcm@openssh.com), so
                      sshstream's own cipher choice does not differ from the baselines'
  --tuned-sshd        start the sandbox sshd with the glibc malloc settings sshstream gives
                      its own ssh (lib/ssh/malloc-env.ts), as a server's admin could: on a
                      VM where a fresh page costs 20 µs, a stock sshd receiving an upload
                      spends most of its CPU growing buffers (see bench/README.md)
  --server-cpus LIST  wan suite: pin the server's sshd to these CPUs (e.g. 1 or 2,3) and the
                      clients to the others, as if the server had a machine of its own
  -h, --help          this text

Results: a markdown report on stdout, JSON and markdown under bench/results/.`;

/** Thrown for bad arguments; run.ts prints it with the usage and exits 1. */
export class BenchUsageError extends Error {}

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Parses `256M`, `1G`, `1.5G`, `4096` (binary units, optional `i`/`iB`/`B`) into bytes. */
function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!match) throw new BenchUsageError(`bad size ${JSON.stringify(text)}: use e.g. 256M or 1G`);
  const bytes = Math.round(Number(match[1]) * UNITS[match[2]!.toUpperCase()]!);
  if (bytes <= 0) throw new BenchUsageError(`size ${JSON.stringify(text)} must be positive`);
  return bytes;
}

/** `268435456` -> `256M`, `1073741824` -> `1G`: the short form used in labels and file names. */
export function sizeLabel(bytes: number): string {
  for (const unit of ['T', 'G', 'M', 'K'] as const) {
    const value = bytes / UNITS[unit]!;
    if (value >= 1 && Number.isInteger(value * 10)) return `${value}${unit}`;
  }
  return `${bytes}B`;
}

const positiveInteger = (name: string, text: string): number => {
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new BenchUsageError(`${name} must be a whole number >= 1, not ${JSON.stringify(text)}`);
  }
  return Number(text);
};

const parseSuites = (text: string): Suite[] => {
  const names = text.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!SUITES.includes(name as Suite)) {
      throw new BenchUsageError(`--only ${JSON.stringify(name)}: expected ${SUITES.join('|')}`);
    }
  }
  return SUITES.filter((suite) => names.includes(suite));
};

// "0,20,100" -> [0, 20, 100]: even milliseconds (the link holds each packet half of it each way).
function parseRtts(text: string): number[] {
  return text.split(',').map((item) => {
    const rtt = Number(item.trim());
    if (!Number.isInteger(rtt) || rtt < 0 || rtt % 2 !== 0) {
      throw new BenchUsageError(`--wan-rtts ${JSON.stringify(item)}: give even milliseconds`);
    }
    return rtt;
  });
}

/** Parses the benchmark's argv (without `node run.js`); returns undefined for --help. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        sizes: { type: 'string' },
        rounds: { type: 'string' },
        quick: { type: 'boolean' },
        only: { type: 'string' },
        'rss-size': { type: 'string' },
        'compress-size': { type: 'string' },
        'fanout-size': { type: 'string' },
        'wan-size': { type: 'string' },
        'wan-rtts': { type: 'string' },
        'wan-rows': { type: 'string' },
        'cpu-size': { type: 'string' },
        'latency-runs': { type: 'string' },
        link: { type: 'string' },
        'in-netns': { type: 'string' },
        timeout: { type: 'string' },
        'no-sync': { type: 'boolean' },
        cipher: { type: 'string' },
        'tuned-sshd': { type: 'boolean' },
        'server-cpus': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new BenchUsageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) return undefined;
  const quick = values.quick === true;
  const sizes = (values.sizes ?? (quick ? '32M' : '256M,1G')).split(',').map(parseSize);
  const link = values.link;
  if (link !== undefined && !/^\d+(\.\d+)?([kmg]?bit|[kmg]?bps)$/i.test(link)) {
    throw new BenchUsageError(`--link ${JSON.stringify(link)}: use a tc rate such as 200mbit`);
  }
  const cipher = values.cipher;
  if (cipher !== undefined && !/^[\w@.+-]+$/.test(cipher)) {
    throw new BenchUsageError(`--cipher ${JSON.stringify(cipher)}: give one cipher name`);
  }
  const netns = values['in-netns'];
  if (netns !== undefined && !/^sshstream-bench-\d+$/.test(netns)) {
    throw new BenchUsageError('--in-netns is internal: set by --link');
  }
  return {
    sizes,
    rounds: values.rounds ? positiveInteger('--rounds', values.rounds) : quick ? 1 : 3,
    suites: values.only ? parseSuites(values.only) : [...SUITES],
    rssSize: parseSize(values['rss-size'] ?? (quick ? '64M' : '1G')),
    compressSize: values['compress-size'] ? parseSize(values['compress-size']) : Math.min(...sizes),
    fanOutSize: values['fanout-size'] ? parseSize(values['fanout-size']) : Math.min(...sizes),
    wanSize: parseSize(values['wan-size'] ?? (quick ? '16M' : '100M')),
    wanRtts: parseRtts(values['wan-rtts'] ?? '0,20,50,100'),
    wanRows: (values['wan-rows'] ?? '').split(',').filter((text) => text !== ''),
    cpuSize: parseSize(values['cpu-size'] ?? (quick ? '32M' : '1G')),
    latencyRuns: values['latency-runs']
      ? positiveInteger('--latency-runs', values['latency-runs'])
      : quick
        ? 5
        : 20,
    link,
    inNetns: netns,
    timeout: values.timeout ? positiveInteger('--timeout', values.timeout) : undefined,
    noSync: values['no-sync'] === true,
    cipher,
    tunedSshd: values['tuned-sshd'] === true,
    serverCpus: values['server-cpus'] === undefined ? undefined : parseCpus(values['server-cpus']),
  };
}

// A CPU list such as `1` or `2,3` (or `2-3`), each CPU below this machine's count, leaving at
// least one for the clients.
function parseCpus(text: string): number[] {
  const cpus = availableParallelism();
  const fail = (why: string) =>
    new BenchUsageError(`--server-cpus ${JSON.stringify(text)}: ${why}`);
  const list = text.split(',').flatMap((part) => {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) throw fail('use CPU numbers such as 1 or 2,3');
    const first = Number(match[1]);
    const last = Number(match[2] ?? match[1]);
    return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
  });
  if (list.length === 0 || list.some((cpu) => cpu >= cpus)) {
    throw fail(`this machine has CPUs 0 to ${cpus - 1}`);
  }
  if (new Set(list).size >= cpus) throw fail('leave at least one CPU for the clients');
  return [...new Set(list)].sort((a, b) => a - b);
}
