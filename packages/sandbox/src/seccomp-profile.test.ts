import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PROFILE_PATH,
  REQUIRED_DENIED_SYSCALLS,
  SeccompProfileError,
  loadSeccompProfile,
  validateProfile,
} from './seccomp-profile.js';

type Profile = { defaultAction: string; syscalls: { names: string[]; action: string; args?: unknown[] }[] };

const checkedIn = (): Profile => JSON.parse(readFileSync(DEFAULT_PROFILE_PATH, 'utf8')) as Profile;

describe('validateProfile', () => {
  it('accepts the checked-in profile and reports every required deny', () => {
    const profile = loadSeccompProfile(DEFAULT_PROFILE_PATH);
    for (const name of REQUIRED_DENIED_SYSCALLS) expect(profile.denied.has(name)).toBe(true);
    expect(JSON.parse(profile.text)).toEqual(checkedIn());
  });

  it('refuses malformed JSON', () => {
    expect(() => validateProfile('{"defaultAction": ')).toThrow(SeccompProfileError);
  });

  it('refuses a profile that allows unknown syscalls by default', () => {
    const profile = { ...checkedIn(), defaultAction: 'SCMP_ACT_ALLOW' };
    expect(() => validateProfile(JSON.stringify(profile))).toThrow(/defaultAction/);
  });

  it('refuses a profile missing a required deny, naming it', () => {
    const profile = checkedIn();
    for (const rule of profile.syscalls) rule.names = rule.names.filter((name) => name !== 'io_uring_setup');
    expect(() => validateProfile(JSON.stringify(profile))).toThrow(/io_uring_setup/);
  });

  it('refuses a profile that denies a call but also allows it', () => {
    const profile = checkedIn();
    profile.syscalls.push({ names: ['ptrace'], action: 'SCMP_ACT_ALLOW' });
    expect(() => validateProfile(JSON.stringify(profile))).toThrow(/also allows ptrace/);
  });

  it('does not count a deny that only applies to some arguments', () => {
    const profile = checkedIn();
    for (const rule of profile.syscalls) {
      if (rule.names.includes('bpf')) rule.args = [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }];
    }
    expect(() => validateProfile(JSON.stringify(profile))).toThrow(/bpf/);
  });

  it('refuses a file that cannot be read', () => {
    expect(() => loadSeccompProfile('/nonexistent/seccomp.json')).toThrow(/cannot read/);
  });
});
