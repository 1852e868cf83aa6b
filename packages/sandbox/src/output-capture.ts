// Splits Docker's multiplexed attach/exec stream and enforces the output cap. Docker's own demuxStream has no
// backpressure and keeps delivering after a cap, so this parser is ours: once the cap is reached it drops
// everything, and the runner kills the container, which keeps the service's memory bounded by the cap.
import type { RunOutput } from '@cyber/contract';

/** Which stream a chunk came from (the contract's OutputStream). */
export type OutputStream = Extract<RunOutput, { kind: 'output' }>['stream'];

/** Receives each piece of output as it arrives, in order per stream. */
export type OutputListener = (stream: OutputStream, chunk: Buffer) => void;

const HEADER_BYTES = 8;

/** What a run produced on one stream. */
export interface StreamTotals {
  /** Bytes the sandbox wrote (seen by the host), captured or not. */
  bytes: number;
  /** Whether part of it was dropped at the cap. */
  truncated: boolean;
  /** The captured bytes, decoded as UTF-8 (invalid sequences become U+FFFD). */
  text: string;
}

/**
 * Parses frames (`[stream, 0, 0, 0, size32be]` + payload) and keeps at most `limitBytes` of stdout and
 * stderr together. Calls `onLimit` once, when a byte beyond the cap arrives.
 */
export class OutputCapture {
  readonly #limitBytes: number;
  readonly #onOutput: OutputListener | undefined;
  readonly #onLimit: () => void;
  readonly #chunks: Record<OutputStream, Buffer[]> = { stdout: [], stderr: [] };
  readonly #bytes: Record<OutputStream, number> = { stdout: 0, stderr: 0 };
  readonly #truncated: Record<OutputStream, boolean> = { stdout: false, stderr: false };
  #captured = 0;
  #pending: Buffer = Buffer.alloc(0);
  #limitHit = false;

  constructor(options: { limitBytes: number; onOutput?: OutputListener; onLimit: () => void }) {
    this.#limitBytes = options.limitBytes;
    this.#onOutput = options.onOutput;
    this.#onLimit = options.onLimit;
  }

  /** True once the cap was exceeded. */
  get limitHit(): boolean {
    return this.#limitHit;
  }

  /** Feeds raw bytes from the hijacked connection. */
  push(data: Buffer): void {
    if (this.#limitHit) return;
    let buffer = this.#pending.length > 0 ? Buffer.concat([this.#pending, data]) : data;
    while (buffer.length >= HEADER_BYTES) {
      const size = buffer.readUInt32BE(4);
      if (buffer.length < HEADER_BYTES + size) break;
      // Type 2 is stderr; 1 (and 0, stdin echo, never requested) count as stdout.
      const stream: OutputStream = buffer[0] === 2 ? 'stderr' : 'stdout';
      this.#accept(stream, buffer.subarray(HEADER_BYTES, HEADER_BYTES + size));
      buffer = buffer.subarray(HEADER_BYTES + size);
      if (this.#limitHit) return;
    }
    // A large frame waits here until complete; Docker frames are at most 32 KiB, so this stays small.
    this.#pending = Buffer.from(buffer);
  }

  #accept(stream: OutputStream, payload: Buffer): void {
    if (payload.length === 0) return;
    this.#bytes[stream] += payload.length;
    const room = this.#limitBytes - this.#captured;
    const kept = payload.length <= room ? payload : payload.subarray(0, room);
    if (kept.length > 0) {
      // Copy: the payload is a view into a socket buffer the parser is about to drop.
      const copy = Buffer.from(kept);
      this.#chunks[stream].push(copy);
      this.#captured += copy.length;
      this.#onOutput?.(stream, copy);
    }
    if (kept.length < payload.length) {
      this.#truncated[stream] = true;
      this.#limitHit = true;
      this.#pending = Buffer.alloc(0);
      this.#onLimit();
    }
  }

  /** Totals of one stream. */
  totals(stream: OutputStream): StreamTotals {
    return {
      bytes: this.#bytes[stream],
      truncated: this.#truncated[stream],
      text: Buffer.concat(this.#chunks[stream]).toString('utf8'),
    };
  }
}
