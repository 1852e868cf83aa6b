// The model the studio serves from its first second: the real small model when this machine has it, else the
// project's generated tiny GGUF written under .studio/models. It is registered in the models registry as an
// operator would (recorded as downloaded from its file) and loaded into the engine BEFORE llmserver is built,
// so llmserver finds it loaded at start without anyone signing in.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Database } from '@cyber/db';
import type { LlmEngine } from '@cyber/llm';
import { ensureTinyModel } from '@cyber/llm/testing';
import { ModelRepository } from '@cyber/llmserver';
import { INFRA_REAL_MODEL_PATH, type StudioModelChoice } from './studio-config.js';

/** Micro-credits per token of the studio's model (the tiny model's price in the tests too). */
export const STUDIO_COST_PER_TOKEN = 10;

/** The model file the studio serves and how it is registered. */
export interface StudioModel {
  /** Registry name, which is also the engine's model id and what chat requests name. */
  name: string;
  /** The GGUF file. */
  path: string;
  /** Where it came from. */
  origin: 'real' | 'tiny' | 'file';
  /** Registered and loaded context size. */
  contextSize: number;
}

/** Picks the model file for `choice`; writes the tiny model into `modelsDir` when that is the one. */
export async function resolveStudioModel(choice: StudioModelChoice, modelsDir: string): Promise<StudioModel> {
  switch (choice.kind) {
    case 'file': {
      if (!existsSync(choice.path)) throw new Error(`CYBER_STUDIO_MODEL: no file at ${choice.path}`);
      return {
        name: basename(choice.path).replace(/\.gguf$/i, ''),
        path: choice.path,
        origin: 'file',
        contextSize: 4096,
      };
    }
    case 'auto': {
      const real = [choice.realModelPath, INFRA_REAL_MODEL_PATH].find(
        (path) => path !== undefined && existsSync(path),
      );
      if (real !== undefined) return { name: 'gemma-3-270m', path: real, origin: 'real', contextSize: 4096 };
      return tinyModel(modelsDir);
    }
    case 'tiny':
      return tinyModel(modelsDir);
  }
}

async function tinyModel(modelsDir: string): Promise<StudioModel> {
  return { name: 'tiny', path: await ensureTinyModel({ dir: modelsDir }), origin: 'tiny', contextSize: 2048 };
}

/**
 * Registers the model as downloaded from its file (once; again when the file moved or the row lost its file)
 * and loads it into `engine`. Call before building llmserver, then {@link markLoaded} after.
 */
export async function preloadStudioModel(options: {
  database: Database;
  engine: LlmEngine;
  model: StudioModel;
  sequences: number;
}): Promise<void> {
  const { model } = options;
  const repository = new ModelRepository(options.database.db);
  let record = await repository.byName(model.name);
  record ??= await repository.register({
    name: model.name,
    sourceUrl: pathToFileURL(model.path).href,
    contextSize: model.contextSize,
    costPerToken: STUDIO_COST_PER_TOKEN,
  });
  const { size } = await stat(model.path);
  if (record.filePath !== model.path || record.sizeBytes !== size || record.status === 'registered') {
    await repository.markDownloaded(model.name, {
      filePath: model.path,
      sizeBytes: size,
      sha256: await sha256File(model.path),
    });
  }
  await options.engine.loadModel({
    id: model.name,
    path: model.path,
    contextSize: Math.min(model.contextSize, record.contextSize),
    sequences: options.sequences,
  });
}

/** Shows the preloaded model as `loaded` in the registry (llmserver's start resets rows to `ready`). */
export async function markLoaded(database: Database, name: string): Promise<void> {
  await new ModelRepository(database.db).setStatus(name, 'loaded');
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
