import {
  AUTO_SAMPLE_BYTES,
  chooseCompression,
  localCompressions,
  type Compression,
} from '../../transforms/compress.js';
import type { ControlConnection } from '../ssh/control-connection.js';
import { debug } from '../util/debug.js';
import type { Delivery, LocalDigest } from './delivery.js';

/**
 * `compress: 'auto'`: holds the first AUTO_SAMPLE_BYTES of the input, picks the format from
 * how well they compress and what both ends have, then hands everything to the delivery that
 * `begin` starts for that format.
 */
export class AutoCompressDelivery implements Delivery {
  private sample: Buffer[] = [];
  private sampled = 0;
  private chosen: Delivery | undefined;
  private readonly available: Compression[];

  constructor(
    control: ControlConnection,
    private readonly begin: (format: Compression | undefined) => Delivery,
  ) {
    // The control script's `ready` lists the formats the remote side can decompress.
    const remote = (control.ready.fields[1] ?? '').split(',');
    this.available = localCompressions().filter((kind) => remote.includes(kind));
  }

  get compress(): Compression | undefined {
    return this.chosen?.compress;
  }

  write(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.chosen) return this.chosen.write(chunk, callback);
    this.sample.push(chunk);
    this.sampled += chunk.length;
    if (this.sampled >= AUTO_SAMPLE_BYTES) this.decide(callback);
    else callback();
  }

  async end(): Promise<LocalDigest> {
    if (!this.chosen) {
      await new Promise<void>((resolve, reject) =>
        this.decide((error) => (error ? reject(error) : resolve())),
      );
    }
    return this.chosen!.end();
  }

  stop(): void | Promise<void> {
    return this.chosen?.stop();
  }

  private decide(callback: (error?: Error | null) => void): void {
    const sample = Buffer.concat(this.sample);
    this.sample = [];
    let chosen: Delivery;
    try {
      const format = chooseCompression(sample, this.available);
      debug(`push: auto compression chose ${format ?? 'none'}`);
      chosen = this.chosen = this.begin(format);
    } catch (error) {
      return callback(error as Error);
    }
    chosen.write(sample, callback);
  }
}
