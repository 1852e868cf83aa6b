// Download of a project (or folder) as a zip, built in the browser with fflate.
import { zipSync, type Zippable } from 'fflate';
import { base64ToBytes } from './bytes.ts';

/** One file to put in the archive. */
export interface ZipFile {
  /** Path inside the archive. */
  path: string;
  /** Content as base64 (as fs.read returns it with encoding base64). */
  base64: string;
}

/** Zips the files (deflate level 6). */
export function zipFiles(files: readonly ZipFile[]): Uint8Array {
  const tree: Zippable = {};
  for (const file of files) tree[file.path] = base64ToBytes(file.base64);
  return zipSync(tree, { level: 6 });
}
