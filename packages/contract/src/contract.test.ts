import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CANCEL_NOTIFICATION, contract, FAMILY_SERVICE, isMethodName, METHOD_FAMILIES } from './contract.js';
import { ROLES, roleSatisfies, type MethodDef } from './define-method.js';

const NAME = /^[a-z]+(\.[a-z][a-zA-Z]*)+$/;
const ACCESS = new Set(['public', ...ROLES]);
const entries = Object.entries(contract) as [string, MethodDef][];
const families = Object.entries(METHOD_FAMILIES) as [string, Record<string, MethodDef>][];

describe('contract', () => {
  it.each(entries)('%s has a description, a valid access and zod params and result', (_name, def) => {
    expect(def.description.trim().length).toBeGreaterThan(10);
    expect(ACCESS.has(def.access)).toBe(true);
    expect(def.params).toBeInstanceOf(z.ZodType);
    expect(def.result).toBeInstanceOf(z.ZodType);
  });

  it('names every method family.verb in camelCase and never in the reserved rpc. namespace', () => {
    for (const [name] of entries) {
      expect(name, name).toMatch(NAME);
      expect(name.startsWith('rpc.'), name).toBe(false);
    }
  });

  it('keeps each method in the family its name starts with, one source file per family', () => {
    for (const [family, methods] of families) {
      for (const name of Object.keys(methods)) expect(name.startsWith(`${family}.`), name).toBe(true);
    }
    const methodFiles = readdirSync(new URL('./methods/', import.meta.url))
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
      .map((file) => file.replace(/\.ts$/, ''))
      .sort();
    expect(methodFiles).toEqual(Object.keys(METHOD_FAMILIES).sort());
  });

  it('loses no method when the families are spread into the contract', () => {
    const total = families.reduce((sum, [, methods]) => sum + Object.keys(methods).length, 0);
    expect(Object.keys(contract)).toHaveLength(total);
  });

  it('covers every family the product needs', () => {
    expect(Object.keys(METHOD_FAMILIES).sort()).toEqual(
      [
        'agent',
        'audit',
        'auth',
        'billing',
        'fs',
        'keys',
        'llm',
        'models',
        'project',
        'run',
        'system',
        'telemetry',
        'usage',
        'users',
      ].sort(),
    );
  });

  it('gives every streaming method its own notification name, in its family and outside rpc.', () => {
    const streams = entries.flatMap(([name, def]) => (def.stream ? [[name, def.stream] as const] : []));
    expect(streams.map(([name]) => name).sort()).toEqual(
      ['agent.attach', 'agent.chat', 'llm.chat', 'llm.complete', 'models.download', 'run.exec'].sort(),
    );
    const notificationNames = streams.map(([, stream]) => stream.method);
    expect(new Set(notificationNames).size).toBe(notificationNames.length);
    for (const [name, stream] of streams) {
      expect(stream.method).toMatch(NAME);
      expect(stream.method.startsWith('rpc.')).toBe(false);
      expect(isMethodName(stream.method), `${stream.method} collides with a method`).toBe(false);
      expect(stream.method.split('.')[0]).toBe(name.split('.')[0]);
      expect(stream.params).toBeInstanceOf(z.ZodType);
    }
    expect(notificationNames).toContain('run.output');
    expect(notificationNames).toContain('llm.token');
    expect(notificationNames).toContain('models.downloadProgress');
  });

  it('routes identity and money to auth, inference to llmserver, the rest to the api', () => {
    expect(Object.keys(FAMILY_SERVICE).sort()).toEqual(Object.keys(METHOD_FAMILIES).sort());
    for (const family of ['auth', 'users', 'keys', 'billing', 'usage', 'audit'] as const) {
      expect(FAMILY_SERVICE[family], family).toBe('auth');
    }
    expect(FAMILY_SERVICE.llm).toBe('llmserver');
    expect(FAMILY_SERVICE.models).toBe('llmserver');
    expect(FAMILY_SERVICE.run).toBe('api');
  });

  it('keeps the cancel notification in the reserved namespace, apart from methods', () => {
    expect(CANCEL_NOTIFICATION.startsWith('rpc.')).toBe(true);
    expect(isMethodName(CANCEL_NOTIFICATION)).toBe(false);
  });

  it('tells own properties from inherited ones', () => {
    expect(isMethodName('fs.read')).toBe(true);
    expect(isMethodName('toString')).toBe(false);
    expect(isMethodName('__proto__')).toBe(false);
  });

  it('reserves admin work for admins and lets viewers only read', () => {
    const admin = Object.keys(contract).filter(
      (name) => contract[name as keyof typeof contract].access === 'admin',
    );
    expect(admin.sort()).toEqual(
      [
        'audit.list',
        'audit.record',
        'billing.grant',
        'models.cancelDownload',
        'models.delete',
        'models.download',
        'models.load',
        'models.register',
        'models.status',
        'models.unload',
        'telemetry.snapshot',
        'users.create',
        'users.delete',
        'users.list',
        'users.update',
      ].sort(),
    );
    for (const name of [
      'fs.write',
      'fs.delete',
      'run.exec',
      'llm.chat',
      'agent.chat',
      'project.create',
    ] as const) {
      expect(roleSatisfies('viewer', contract[name].access), name).toBe(false);
      expect(roleSatisfies('developer', contract[name].access), name).toBe(true);
    }
    const publicMethods = entries.filter(([, def]) => def.access === 'public').map(([name]) => name);
    expect(publicMethods.sort()).toEqual(
      ['auth.introspect', 'auth.login', 'auth.logout', 'auth.refresh', 'system.ping'].sort(),
    );
  });
});

describe('strict params', () => {
  const representative = [
    ['auth.login', { username: 'ada', password: 'correct horse battery staple' }],
    ['users.update', { userId: 7, role: 'developer' }],
    ['keys.create', { label: 'ci' }],
    ['billing.grant', { userId: 7, kind: 'credit', amount: 1_000_000, reason: 'welcome' }],
    ['fs.write', { projectId: '7f8f1d7c-5c8e-4a61-9a0b-3d2f6f6d9a11', path: 'src/a.ts', content: 'x' }],
    ['run.exec', { projectId: '7f8f1d7c-5c8e-4a61-9a0b-3d2f6f6d9a11', language: 'python', entry: 'main.py' }],
    ['llm.chat', { model: 'tiny', messages: [{ role: 'user', content: 'hi' }] }],
    ['models.load', { name: 'tiny' }],
    ['agent.chat', { projectId: '7f8f1d7c-5c8e-4a61-9a0b-3d2f6f6d9a11', message: 'fix the test' }],
    ['audit.list', {}],
  ] as const;

  it.each(representative)('%s accepts its valid params and refuses an unknown key', (name, params) => {
    const schema = contract[name].params;
    expect(schema.safeParse(params).success).toBe(true);
    const probe = schema.safeParse({ ...params, isAdmin: true });
    expect(probe.success).toBe(false);
    expect(probe.error?.issues[0]?.code).toBe('unrecognized_keys');
  });

  it.each(entries)('%s refuses params that are not an object', (_name, def) => {
    expect(def.params.safeParse('params').success).toBe(false);
    expect(def.params.safeParse([1, 2]).success).toBe(false);
  });
});
