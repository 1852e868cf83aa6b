import { describe, expect, it } from 'vitest';
import { OutputCapture, type OutputStream } from './output-capture.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('OutputCapture', () => {
  it('reassembles frames split at any byte and keeps each stream in order', () => {
    const seen: [OutputStream, string][] = [];
    let limits = 0;
    const capture = new OutputCapture({
      limitBytes: 1024,
      onOutput: (stream, chunk) => seen.push([stream, chunk.toString()]),
      onLimit: () => (limits += 1),
    });
    const wire = Buffer.concat([frame(1, 'out1 '), frame(2, 'err1 '), frame(1, 'out2'), frame(2, 'err2')]);
    for (let i = 0; i < wire.length; i += 3) capture.push(wire.subarray(i, i + 3));
    expect(seen).toEqual([
      ['stdout', 'out1 '],
      ['stderr', 'err1 '],
      ['stdout', 'out2'],
      ['stderr', 'err2'],
    ]);
    expect(capture.totals('stdout')).toEqual({ bytes: 9, truncated: false, text: 'out1 out2' });
    expect(capture.totals('stderr')).toEqual({ bytes: 9, truncated: false, text: 'err1 err2' });
    expect(limits).toBe(0);
  });

  it('keeps exactly the cap across both streams, flags the stream cut, signals once and drops the rest', () => {
    let limits = 0;
    const capture = new OutputCapture({ limitBytes: 6, onLimit: () => (limits += 1) });
    capture.push(Buffer.concat([frame(2, 'abcd'), frame(1, 'efgh'), frame(1, 'ijkl')]));
    capture.push(frame(1, 'more'));
    expect(capture.limitHit).toBe(true);
    expect(limits).toBe(1);
    expect(capture.totals('stderr')).toEqual({ bytes: 4, truncated: false, text: 'abcd' });
    expect(capture.totals('stdout')).toEqual({ bytes: 4, truncated: true, text: 'ef' });
  });
});
