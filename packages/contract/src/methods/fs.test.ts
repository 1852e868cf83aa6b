import { describe, expect, it } from 'vitest';
import { MAX_PATH_LENGTH } from '../schemas/common.js';
import { fsMethods } from './fs.js';

const projectId = '7f8f1d7c-5c8e-4a61-9a0b-3d2f6f6d9a11';
const write = fsMethods['fs.write'].params;

describe('fs params', () => {
  it('accepts a text write and fills its defaults', () => {
    expect(write.parse({ projectId, path: 'src/main.ts', content: 'export {};\n' })).toEqual({
      projectId,
      path: 'src/main.ts',
      content: 'export {};\n',
      encoding: 'utf8',
      createParents: true,
    });
  });

  it('takes null as "create only" and a string as the expected version', () => {
    expect(write.safeParse({ projectId, path: 'a', content: '', expectedVersion: null }).success).toBe(true);
    expect(write.safeParse({ projectId, path: 'a', content: '', expectedVersion: 'abc123' }).success).toBe(
      true,
    );
    expect(write.safeParse({ projectId, path: 'a', content: '', expectedVersion: '' }).success).toBe(false);
  });

  it('accepts base64 content and refuses content that is not base64', () => {
    expect(
      write.safeParse({ projectId, path: 'a.bin', content: 'AAEC/w==', encoding: 'base64' }).success,
    ).toBe(true);
    expect(
      write.safeParse({ projectId, path: 'a.bin', content: 'not base64!', encoding: 'base64' }).success,
    ).toBe(false);
    expect(write.safeParse({ projectId, path: 'a.bin', content: 'AAE', encoding: 'base64' }).success).toBe(
      false,
    );
  });

  it('refuses a path over the length cap, an empty path and a NUL byte', () => {
    const read = fsMethods['fs.read'].params;
    expect(read.safeParse({ projectId, path: 'a'.repeat(MAX_PATH_LENGTH) }).success).toBe(true);
    expect(read.safeParse({ projectId, path: 'a'.repeat(MAX_PATH_LENGTH + 1) }).success).toBe(false);
    expect(read.safeParse({ projectId, path: '' }).success).toBe(false);
    expect(read.safeParse({ projectId, path: 'ok.txt\0../../etc/passwd' }).success).toBe(false);
  });

  it('refuses a project id that is not a UUID and an unknown encoding', () => {
    const read = fsMethods['fs.read'].params;
    expect(read.safeParse({ projectId: '../other', path: 'a' }).success).toBe(false);
    expect(read.safeParse({ projectId, path: 'a', encoding: 'latin1' }).success).toBe(false);
  });

  it('bounds fs.list entries', () => {
    const list = fsMethods['fs.list'].params;
    expect(list.parse({ projectId })).toMatchObject({ recursive: false, maxEntries: 1000 });
    expect(list.safeParse({ projectId, maxEntries: 0 }).success).toBe(false);
    expect(list.safeParse({ projectId, maxEntries: -5 }).success).toBe(false);
    expect(list.safeParse({ projectId, maxEntries: 10_001 }).success).toBe(false);
  });
});
