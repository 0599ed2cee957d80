import type { ControlConnection } from '../ssh/control-connection.js';
import { encodePrintfFormat } from '../remote/script.js';
import type { Delivery, LocalDigest } from './delivery.js';
import { writeWithBackpressure, type InputHash } from './input-hash.js';

/**
 * A small input that was complete by the time the connection was up (see INLINE_LIMIT) goes on
 * the control session itself: the control script appends it to the temporary file (with the
 * shell's own printf) and checks its size; the commit then hashes the file on disk. No second
 * session to start.
 */
export class InlineDelivery implements Delivery {
  readonly compress = undefined;
  private readonly chunks: Buffer[] = [];

  constructor(
    private readonly control: ControlConnection,
    private readonly hash: InputHash,
  ) {
    hash.stream.resume(); // only its count and digest are wanted
  }

  write(chunk: Buffer, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    writeWithBackpressure(this.hash.stream, chunk, callback);
  }

  end(): Promise<LocalDigest> {
    this.hash.stream.end();
    const input = Buffer.concat(this.chunks);
    if (input.length > 0) this.control.send(`put ${input.length} ${encodePrintfFormat(input)}`);
    return this.hash.result();
  }

  stop(): void {
    this.hash.stream.destroy();
  }
}
