// A minimal GGUF v3 writer: enough of the format to emit a model llama.cpp accepts (metadata of scalars,
// strings and arrays; F32 tensors). Little-endian throughout, as the format requires.

/** GGUF metadata value types (the numbers are the file format's). */
const GGUF_TYPE = {
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
} as const;

/** ggml tensor types this writer can emit. */
const GGML_TYPE_F32 = 0;

/** A typed metadata value. Arrays hold one element type. */
export type GgufValue =
  | { type: 'uint32'; value: number }
  | { type: 'int32'; value: number }
  | { type: 'float32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; of: 'string'; value: readonly string[] }
  | { type: 'array'; of: 'float32'; value: readonly number[] }
  | { type: 'array'; of: 'int32'; value: readonly number[] };

/** One F32 tensor: `dims` in ggml order (fastest-varying first), `data` row-major in that order. */
export interface GgufTensor {
  name: string;
  dims: readonly number[];
  data: Float32Array;
}

/** What {@link writeGguf} serialises. */
export interface GgufFile {
  metadata: readonly (readonly [string, GgufValue])[];
  tensors: readonly GgufTensor[];
  /** Tensor data alignment in bytes; llama.cpp's default is 32. */
  alignment?: number;
}

/** Growable little-endian byte buffer. */
class ByteSink {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
  }

  i32(value: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, value, true);
    this.length += 4;
  }

  u64(value: number): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(value), true);
    this.length += 8;
  }

  f32(value: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, value, true);
    this.length += 4;
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  string(value: string): void {
    const encoded = new TextEncoder().encode(value);
    this.u64(encoded.length);
    this.bytes(encoded);
  }

  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.reserve(pad);
    this.buffer.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

function writeValue(sink: ByteSink, value: GgufValue): void {
  sink.u32(GGUF_TYPE[value.type]);
  switch (value.type) {
    case 'uint32':
      sink.u32(value.value);
      return;
    case 'int32':
      sink.i32(value.value);
      return;
    case 'float32':
      sink.f32(value.value);
      return;
    case 'bool':
      sink.bytes(Uint8Array.of(value.value ? 1 : 0));
      return;
    case 'string':
      sink.string(value.value);
      return;
    case 'array':
      sink.u32(GGUF_TYPE[value.of]);
      sink.u64(value.value.length);
      for (const item of value.value) {
        if (value.of === 'string') sink.string(item as string);
        else if (value.of === 'float32') sink.f32(item as number);
        else sink.i32(item as number);
      }
      return;
  }
}

/** Serialises a GGUF v3 file. The output depends only on the input, byte for byte. */
export function writeGguf(file: GgufFile): Uint8Array {
  const alignment = file.alignment ?? 32;
  const sink = new ByteSink();
  sink.bytes(new TextEncoder().encode('GGUF'));
  sink.u32(3);
  sink.u64(file.tensors.length);
  const metadata: (readonly [string, GgufValue])[] = [...file.metadata];
  if (alignment !== 32) metadata.push(['general.alignment', { type: 'uint32', value: alignment }]);
  sink.u64(metadata.length);
  for (const [key, value] of metadata) {
    sink.string(key);
    writeValue(sink, value);
  }

  let offset = 0;
  const offsets: number[] = [];
  for (const tensor of file.tensors) {
    const elements = tensor.dims.reduce((a, b) => a * b, 1);
    if (elements !== tensor.data.length) {
      throw new Error(`tensor ${tensor.name}: dims ${tensor.dims.join('x')} != ${tensor.data.length} values`);
    }
    sink.string(tensor.name);
    sink.u32(tensor.dims.length);
    for (const dim of tensor.dims) sink.u64(dim);
    sink.u32(GGML_TYPE_F32);
    sink.u64(offset);
    offsets.push(offset);
    offset += Math.ceil((elements * 4) / alignment) * alignment;
  }

  sink.padTo(alignment);
  for (const tensor of file.tensors) {
    for (const value of tensor.data) sink.f32(value);
    sink.padTo(alignment);
  }
  return sink.result();
}
