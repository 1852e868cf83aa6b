import { describe, expect, it } from 'vitest';
import { AnsiStream } from './ansi.ts';

describe('AnsiStream', () => {
  it('turns colour codes into coloured text segments and drops the escapes', () => {
    const segments = new AnsiStream().push('plain \u001b[31mred\u001b[0m \u001b[1;32mbold green\u001b[0m');
    expect(segments.map((s) => s.text).join('')).toBe('plain red bold green');
    expect(segments.find((s) => s.text === 'red')?.fg).toBe('rgb(187, 0, 0)');
    expect(segments.find((s) => s.text === 'bold green')).toMatchObject({ bold: true });
    expect(segments.some((s) => s.text.includes('\u001b'))).toBe(false);
  });

  it('keeps markup as text: nothing is interpreted as HTML', () => {
    const segments = new AnsiStream().push('<img src=x onerror=alert(1)>&amp;');
    expect(segments.map((s) => s.text).join('')).toBe('<img src=x onerror=alert(1)>&amp;');
  });

  it('holds an escape sequence split across chunks until it completes, and carries the colour on', () => {
    const stream = new AnsiStream();
    const first = stream.push('a\u001b[3');
    expect(first.map((s) => s.text).join('')).toBe('a');
    const second = stream.push('4mblue');
    expect(second).toEqual([expect.objectContaining({ text: 'blue', fg: 'rgb(0, 0, 187)' })]);
    const third = stream.push(' still');
    expect(third[0]?.fg).toBe('rgb(0, 0, 187)');
  });
});
