// Where a model's files live: `<modelsDir>/<name>.gguf`, and `<name>.gguf.part` while it downloads. The
// contract's ModelName already allows only letters, digits and `._:-`, so a name cannot hold a separator; the
// path is still resolved and checked to stay directly inside modelsDir, so a future change of the name rules
// cannot turn into a write outside it.
import { basename, dirname, resolve } from 'node:path';
import { RpcError } from '@cyber/contract';

/** The two paths of a model's file. */
export interface ModelFilePaths {
  /** The verified GGUF file. */
  final: string;
  /** The download in progress (kept across interruptions so the next download resumes). */
  partial: string;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Paths of model `name` under `modelsDir`.
 * @throws RpcError `invalid_params` when the name would not be a plain file directly inside modelsDir.
 */
export function modelFilePaths(modelsDir: string, name: string): ModelFilePaths {
  const dir = resolve(modelsDir);
  const final = resolve(dir, `${name}.gguf`);
  if (!SAFE_NAME.test(name) || dirname(final) !== dir || basename(final) !== `${name}.gguf`) {
    throw new RpcError('invalid_params', {
      message: `Model name ${JSON.stringify(name)} does not map to a file in the models directory`,
      data: { field: 'name' },
    });
  }
  return { final, partial: `${final}.part` };
}
