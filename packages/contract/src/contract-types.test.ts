import { describe, expectTypeOf, it } from 'vitest';
import type { Notification, Params, ParamsInput, Result, StreamingMethodName } from './contract.js';
import type { RunOutput, RunResult } from './methods/run.js';
import type { TokenEvent } from './methods/llm.js';

describe('inferred contract types', () => {
  it('knows exactly which methods stream', () => {
    expectTypeOf<StreamingMethodName>().toEqualTypeOf<
      'run.exec' | 'llm.chat' | 'llm.complete' | 'models.download' | 'agent.chat' | 'agent.attach'
    >();
  });

  it('infers notification, params and result types from the schemas', () => {
    expectTypeOf<Notification<'run.exec'>>().toEqualTypeOf<RunOutput>();
    expectTypeOf<Notification<'llm.chat'>>().toEqualTypeOf<TokenEvent>();
    expectTypeOf<Result<'run.exec'>>().toEqualTypeOf<RunResult>();
    expectTypeOf<Params<'fs.write'>['encoding']>().toEqualTypeOf<'utf8' | 'base64'>();
    expectTypeOf<ParamsInput<'fs.write'>['encoding']>().toEqualTypeOf<'utf8' | 'base64' | undefined>();
    expectTypeOf<Params<'users.list'>['limit']>().toEqualTypeOf<number>();
  });
});
