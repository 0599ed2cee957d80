import { Transform, type TransformCallback } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { dropMallocBlock } from './malloc-trim.js';

type MinorGc = (options: { type: 'minor'; execution: 'sync' }) => void;
let collect: MinorGc | null | undefined;

// V8's gc(), exposed once; null where the flag cannot be set (the pacer then only passes data).
function minorGc(): MinorGc | null {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as MinorGc;
    } catch {
      collect = null;
    }
  }
  return collect;
}

/**
 * A pass-through that runs a young-generation GC every `interval` bytes. Streams allocate a new
 * Buffer per chunk, and V8 frees spent ones only when its external-memory heuristics say so:
 * about 32 MiB of them pile up, whatever the chunk size (a bare fs read stream piped to a
 * no-op Writable peaks at 80 MiB RSS). Collecting every 4 MiB keeps that near 4 MiB for no
 * measurable time. For the CLI's own process only: a library must not run GCs in its user's.
 */
export class MemoryPacer extends Transform {
  private since = 0;

  constructor(private readonly interval = 4 << 20) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.since += chunk.length;
    if (this.since >= this.interval) {
      this.since = 0;
      // Once a transfer is past its first few MiB: a small one never needs it.
      dropMallocBlock();
      minorGc()?.({ type: 'minor', execution: 'sync' });
    }
    callback(null, chunk);
  }
}
