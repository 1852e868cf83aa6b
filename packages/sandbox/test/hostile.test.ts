// The hostile suite (issue 4, "Checked by") against the real Docker engine, on the cold path and on the warm
// path. Each hostile run asserts its verdict; after each, a probe run must be ok and see a clean /tmp, so the
// host and the next run are unaffected.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunLanguage, RunLimits } from '@cyber/contract';
import { DEFAULT_PROFILE_PATH, SandboxRunner, type SandboxRunResult } from '../src/index.ts';
import { TEST_LIMITS, dockerClient, makeWorkspace, testRunner } from './sandbox-harness.ts';

const MiB = 1024 * 1024;
const docker = dockerClient();

/** x86_64 syscall numbers of the calls the profile must refuse. */
const SYSCALLS: Record<string, number> = {
  ptrace: 101,
  mount: 165,
  umount2: 166,
  unshare: 272,
  setns: 308,
  keyctl: 250,
  add_key: 248,
  request_key: 249,
  bpf: 321,
  perf_event_open: 298,
  userfaultfd: 323,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  kexec_load: 246,
  init_module: 175,
};

/** Prints `name errno` for each syscall, calling it through libc's syscall() with zeroed arguments. */
const SYSCALL_PROBE = `
import ctypes, json, sys
libc = ctypes.CDLL(None, use_errno=True)
for name, nr in json.loads(sys.argv[1]).items():
    ctypes.set_errno(0)
    rc = libc.syscall(nr, 0, 0, 0, 0, 0)
    print(name, rc, ctypes.get_errno())
`;

function parseProbe(stdout: string): Map<string, { rc: number; errno: number }> {
  const calls = new Map<string, { rc: number; errno: number }>();
  for (const line of stdout.trim().split('\n')) {
    const [name, rc, errno] = line.split(' ');
    if (name) calls.set(name, { rc: Number(rc), errno: Number(errno) });
  }
  return calls;
}

/** Echoes each line of stdin as it arrives and says bye at EOF. */
const INTERACTIVE_ECHO =
  "import sys\nprint('ready', flush=True)\nfor line in iter(sys.stdin.readline, ''):\n  print('echo:' + line.strip(), flush=True)\nprint('bye')";

/** Polls `condition` every 10 ms for up to 10 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each(['cold', 'warm'] as const)('hostile runs on the %s path', (path) => {
  const runner = testRunner({ docker, warmPoolSize: path === 'warm' ? 2 : 0 });
  const workspace = makeWorkspace();

  /** One run on this suite's path; on the warm path the run must really have used a pooled container. */
  async function run(options: {
    language: RunLanguage;
    command: string[];
    stdin?: string;
    stdinStream?: Readable;
    limits?: RunLimits;
    signal?: AbortSignal;
    onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  }): Promise<SandboxRunResult> {
    if (path === 'warm') await runner.prewarm({ language: options.language, workspaceDir: workspace.dir });
    const result = await runner.run({
      ...options,
      workspaceDir: workspace.dir,
      mode: path === 'cold' ? 'cold' : 'auto',
    });
    expect(result.path).toBe(path);
    return result;
  }

  afterEach(async () => {
    const probe = await run({ language: 'shell', command: ['sh', '-c', 'ls -A /tmp; id -u; echo alive'] });
    expect(probe.verdict).toBe('ok');
    expect(probe.stdout).toBe('65534\nalive\n');
  });

  afterAll(async () => {
    await runner.close();
    workspace.cleanup();
  });

  it('runs python, node and sh as uid 65534 in /workspace with exit codes passed through', async () => {
    const py = await run({
      language: 'python',
      command: ['python3', '-c', 'import os; print(os.getuid(), os.getcwd())'],
    });
    expect(py).toMatchObject({ verdict: 'ok', exitCode: 0, signal: null, stdout: '65534 /workspace\n' });
    const node = await run({
      language: 'node',
      command: ['node', '-e', 'console.log(typeof process.version)'],
    });
    expect(node).toMatchObject({ verdict: 'ok', stdout: 'string\n' });
    const failing = await run({ language: 'shell', command: ['sh', '-c', 'echo oops >&2; exit 3'] });
    expect(failing).toMatchObject({ verdict: 'error', exitCode: 3, signal: null, stderr: 'oops\n' });
  });

  it('delivers stdin and closes it', async () => {
    const result = await run({
      language: 'python',
      command: ['python3', '-c', 'import sys; print(sys.stdin.read().upper())'],
      stdin: 'hello sandbox',
    });
    expect(result).toMatchObject({ verdict: 'ok', stdout: 'HELLO SANDBOX\n' });
  });

  it('pipes interactive stdin to the running process in order and closes it when the stream ends', async () => {
    const input = new PassThrough();
    let streamed = '';
    const running = run({
      language: 'python',
      command: ['python3', '-c', INTERACTIVE_ECHO],
      stdin: 'first\n',
      stdinStream: input,
      onOutput: (_stream, chunk) => (streamed += chunk.toString('utf8')),
    });
    // Each line is answered before the next is sent: the process reads while it runs, not after EOF.
    await until(() => streamed.includes('echo:first\n'));
    input.write('second\n');
    await until(() => streamed.includes('echo:second\n'));
    input.end('third\n');
    const result = await running;
    expect(result).toMatchObject({
      verdict: 'ok',
      exitCode: 0,
      stdout: 'ready\necho:first\necho:second\necho:third\nbye\n',
    });
    expect(input.destroyed).toBe(true);
  });

  it('keeps stdout and stderr apart and each in order, streaming what it captures', async () => {
    const streamed = { stdout: '', stderr: '' };
    const result = await run({
      language: 'python',
      command: [
        'python3',
        '-c',
        'import sys\nfor i in range(300):\n print(i, flush=True)\n print("e%d" % i, file=sys.stderr, flush=True)',
      ],
      onOutput: (stream, chunk) => {
        streamed[stream] += chunk.toString('utf8');
      },
    });
    const numbers = Array.from({ length: 300 }, (_, i) => i);
    expect(result.verdict).toBe('ok');
    expect(result.stdout).toBe(numbers.map((i) => `${i}\n`).join(''));
    expect(result.stderr).toBe(numbers.map((i) => `e${i}\n`).join(''));
    expect(streamed).toEqual({ stdout: result.stdout, stderr: result.stderr });
    expect(result.stdoutBytes).toBe(Buffer.byteLength(result.stdout));
  });

  it('contains a fork bomb under the pids limit and leaves the host able to fork', async () => {
    const counted = await run({
      language: 'python',
      command: [
        'python3',
        '-c',
        'import os, time\nn = 0\ntry:\n while True:\n  if os.fork() == 0:\n   time.sleep(5); os._exit(0)\n  n += 1\nexcept OSError as e:\n print(n, e.errno)',
      ],
      limits: { wallMs: 8000 },
    });
    const [forks, errno] = counted.stdout.trim().split(' ').map(Number);
    expect(forks).toBeLessThan(TEST_LIMITS.pids);
    expect(errno).toBe(11); // EAGAIN from the pids cgroup

    const bomb = await run({
      language: 'python',
      command: ['python3', '-c', 'import os\nwhile True:\n try: os.fork()\n except OSError: pass'],
      limits: { wallMs: 2000 },
    });
    expect(bomb.verdict).toBe('timeout');
    expect(spawnSync('true').status).toBe(0);
  });

  it('ends a memory bomb with verdict memory', async () => {
    const result = await run({
      language: 'python',
      command: ['python3', '-c', 'b = []\nwhile True: b.append(b"x" * (8 << 20))'],
    });
    expect(result.verdict).toBe('memory');
    expect(result.exitCode).toBeNull();
    expect(result.signal).toBe('SIGKILL');
  });

  it('ends an endless loop at the wall limit with verdict timeout', async () => {
    const result = await run({
      language: 'python',
      command: ['python3', '-c', 'while True: pass'],
      limits: { wallMs: 1500 },
    });
    expect(result.verdict).toBe('timeout');
    expect(result.wallMs).toBeGreaterThanOrEqual(1400);
    expect(result.wallMs).toBeLessThan(6000);
  });

  it('stops 100 MB of output at the cap with verdict output_limit and bounded host memory', async () => {
    const before = process.memoryUsage().rss;
    const result = await run({
      language: 'python',
      command: [
        'python3',
        '-c',
        'import sys\nb = b"x" * 65536\nfor _ in range(1600): sys.stdout.buffer.write(b)',
      ],
      limits: { outputBytes: 4 * MiB },
    });
    const growth = process.memoryUsage().rss - before;
    expect(result.verdict).toBe('output_limit');
    expect(result.stdoutTruncated).toBe(true);
    expect(result.stdout.length).toBe(4 * MiB);
    expect(result.stdoutBytes).toBeLessThan(100 * MiB);
    expect(growth).toBeLessThan(48 * MiB);
  });

  it('caps /tmp at its tmpfs size and /workspace files at the file size limit', async () => {
    const tmp = await run({
      language: 'shell',
      command: [
        'sh',
        '-c',
        'for i in 1 2 3; do head -c 7M /dev/zero > /tmp/f$i || echo "full at $i"; done; du -sk /tmp',
      ],
    });
    expect(tmp.stdout).toContain('full at 3');
    expect(tmp.stderr).toContain('No space left on device');
    expect(Number(tmp.stdout.trim().split('\n').pop()?.split(/\s/)[0])).toBeLessThanOrEqual(16 * 1024);

    const big = await run({
      language: 'shell',
      command: ['sh', '-c', 'head -c 20M /dev/zero > /workspace/big; echo $?'],
    });
    expect(Number(big.stdout.trim())).toBe(128 + 25); // SIGXFSZ
    expect(statSync(join(workspace.dir, 'big')).size).toBeLessThanOrEqual(TEST_LIMITS.fileSizeBytes);
    rmSync(join(workspace.dir, 'big'));
  });

  it('has no network: connections, DNS and the host loopback all fail', async () => {
    const result = await run({
      language: 'python',
      command: [
        'python3',
        '-c',
        [
          'import socket',
          'for target in [("1.1.1.1", 53), ("127.0.0.1", 7432), ("172.17.0.1", 2375)]:',
          '    try:',
          '        socket.create_connection(target, timeout=2); print("connected", target)',
          '    except OSError as e: print("blocked", e.errno)',
          'try:',
          '    socket.getaddrinfo("deb.debian.org", 80); print("resolved")',
          'except OSError: print("no dns")',
          'import os; print(sorted(os.listdir("/sys/class/net")))',
        ].join('\n'),
      ],
    });
    expect(result.stdout).not.toContain('connected');
    expect(result.stdout).not.toContain('resolved');
    expect(result.stdout).toContain('no dns');
    expect(result.stdout.trim().split('\n').pop()).toBe("['lo']");
  });

  it('cannot see host files, the Docker socket or the host shadow file', async () => {
    const secret = join(tmpdir(), `cyber-host-secret-${randomUUID()}`);
    writeFileSync(secret, 'host only');
    try {
      const result = await run({
        language: 'shell',
        command: [
          'sh',
          '-c',
          `test -e ${secret} && echo SEEN-SECRET; for s in /var/run/docker.sock /run/docker.sock; do test -e $s && echo SEEN-SOCKET; done; cat /etc/shadow || echo shadow-denied; cat /etc/hostname`,
        ],
      });
      expect(result.stdout).not.toContain('SEEN');
      expect(result.stdout).toContain('shadow-denied');
      expect(result.stdout).toContain('sandbox');
      const hostShadow = readFileSync('/etc/shadow', 'utf8').split('\n')[0] ?? '';
      expect(result.stdout).not.toContain(hostShadow);
    } finally {
      rmSync(secret, { force: true });
    }
  });

  it('refuses ptrace, mount, unshare, setns, keyring, bpf, perf, userfaultfd, io_uring and module calls', async () => {
    expect(process.arch).toBe('x64'); // the probe uses x86_64 syscall numbers
    const result = await run({
      language: 'python',
      command: ['python3', '-c', SYSCALL_PROBE, JSON.stringify(SYSCALLS)],
    });
    const calls = parseProbe(result.stdout);
    expect([...calls.keys()].sort()).toEqual(Object.keys(SYSCALLS).sort());
    for (const [name, { rc, errno }] of calls)
      expect({ name, rc, errno }).toEqual({ name, rc: -1, errno: 1 });
  });

  it('gives setuid binaries no root: no-new-privileges, no capabilities, no setuid files', async () => {
    const result = await run({
      language: 'shell',
      command: [
        'sh',
        '-c',
        'grep -E "^(NoNewPrivs|CapEff|CapPrm|Seccomp):" /proc/self/status; find / -xdev -perm /6000 -type f 2>/dev/null | wc -l; su -c id root </dev/null >/dev/null 2>&1 || echo su-failed; id -u',
      ],
    });
    expect(result.stdout).toMatch(/NoNewPrivs:\s+1/);
    expect(result.stdout).toMatch(/CapEff:\s+0+\n/);
    expect(result.stdout).toMatch(/CapPrm:\s+0+\n/);
    expect(result.stdout).toMatch(/Seccomp:\s+2/);
    expect(result.stdout).toMatch(/\n0\nsu-failed\n65534\n$/);
  });

  it('cancels on abort with verdict cancelled', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const result = await run({ language: 'shell', command: ['sleep', '30'], signal: controller.signal });
    expect(result.verdict).toBe('cancelled');
    expect(result.wallMs).toBeLessThan(5000);
  });

  it('keeps nothing from one run in the next except the workspace', async () => {
    const first = await run({
      language: 'shell',
      command: [
        'sh',
        '-c',
        'echo secret > /tmp/marker; echo kept > /workspace/kept.txt; (sleep 60 &); echo done',
      ],
    });
    expect(first.verdict).toBe('ok');
    const second = await run({
      language: 'shell',
      command: [
        'sh',
        '-c',
        'test -e /tmp/marker && echo LEAKED; ps -e -o comm= 2>/dev/null | grep -c sleep; cat /workspace/kept.txt',
      ],
    });
    expect(second.stdout).not.toContain('LEAKED');
    expect(second.stdout).toContain('kept');
  });
});

describe('the seccomp profile, not missing capabilities, is what refuses the calls', () => {
  it('returns the errno the profile names (95) for every required deny', async () => {
    const profile = JSON.parse(readFileSync(DEFAULT_PROFILE_PATH, 'utf8')) as {
      syscalls: { action: string; errnoRet?: number; args?: unknown[] }[];
    };
    for (const rule of profile.syscalls) {
      if (rule.action === 'SCMP_ACT_ERRNO' && rule.errnoRet === 1) rule.errnoRet = 95;
    }
    const runner = SandboxRunner.start({
      docker,
      profileText: JSON.stringify(profile),
      defaults: TEST_LIMITS,
      maxima: TEST_LIMITS,
    });
    const workspace = makeWorkspace();
    try {
      const result = await runner.run({
        language: 'python',
        command: ['python3', '-c', SYSCALL_PROBE, JSON.stringify(SYSCALLS)],
        workspaceDir: workspace.dir,
      });
      for (const [name, { errno }] of parseProbe(result.stdout))
        expect({ name, errno }).toEqual({ name, errno: 95 });
    } finally {
      await runner.close();
      workspace.cleanup();
    }
  });
});

describe('engine failures', () => {
  let workspace: ReturnType<typeof makeWorkspace>;
  beforeAll(() => {
    workspace = makeWorkspace();
  });
  afterAll(() => workspace.cleanup());

  it('reports a missing image as sandbox_unavailable naming the build script', async () => {
    const runner = SandboxRunner.start({
      docker,
      profileText: readFileSync(DEFAULT_PROFILE_PATH, 'utf8'),
      maxima: TEST_LIMITS,
      images: { shell: 'cyber-sandbox-missing:nope' },
    });
    try {
      const failure = runner.run({ language: 'shell', command: ['true'], workspaceDir: workspace.dir });
      await expect(failure).rejects.toMatchObject({ key: 'sandbox_unavailable' });
      await expect(failure).rejects.toThrow(/cyber-sandbox-missing:nope.*sandbox-images\/build\.sh/);
      await expect(runner.check()).rejects.toThrow(/sandbox-images\/build\.sh/);
    } finally {
      await runner.close();
    }
  });

  it('reports an unreachable engine as sandbox_unavailable naming the socket', async () => {
    const { default: Docker } = await import('dockerode');
    const runner = SandboxRunner.start({
      docker: new Docker({ socketPath: '/nonexistent/docker.sock' }),
      profileText: readFileSync(DEFAULT_PROFILE_PATH, 'utf8'),
      maxima: TEST_LIMITS,
    });
    const failure = runner.run({ language: 'shell', command: ['true'], workspaceDir: workspace.dir });
    await expect(failure).rejects.toMatchObject({ key: 'sandbox_unavailable' });
    await expect(failure).rejects.toThrow(/unreachable at \/nonexistent\/docker\.sock/);
    await runner.close();
  });

  it('leaves no container behind', async () => {
    const left = await docker.listContainers({
      all: true,
      filters: { label: ['dev.cyberdevstudio.sandbox'] },
    });
    expect(left).toEqual([]);
  });
});
