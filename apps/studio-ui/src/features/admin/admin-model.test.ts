import type { DownloadProgress, Model } from '@cyber/contract';
import { describe, expect, it } from 'vitest';
import { initialModel, pickableModels } from '../chat/ModelPicker.tsx';
import { argumentSummary } from '../chat/ToolCallView.tsx';
import { tabOf } from './AdminDashboard.tsx';
import { detailsText } from './AuditPanel.tsx';
import { barLengths } from './BarChart.tsx';
import { progressView } from './download-progress.ts';
import {
  formatPanelValue,
  labelText,
  pushSnapshot,
  sparklinePoints,
  HISTORY_LENGTH,
  type TelemetrySnapshot,
} from './telemetry.ts';
import { usageBars } from './UsagePanel.tsx';

function progress(overrides: Partial<DownloadProgress>): DownloadProgress {
  return {
    model: 'm',
    phase: 'downloading',
    receivedBytes: 0,
    totalBytes: null,
    bytesPerSecond: 0,
    resumedFromBytes: 0,
    ...overrides,
  };
}

function model(name: string, status: Model['status']): Model {
  return {
    id: name.length,
    name,
    contextSize: 4096,
    costPerToken: 1,
    sourceUrl: null,
    sizeBytes: null,
    sha256: null,
    quantization: null,
    parameters: null,
    status,
    error: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
}

describe('progressView', () => {
  it('shows fraction, amount, speed and time left of a download with a known size', () => {
    const view = progressView(
      progress({ receivedBytes: 1024 * 1024, totalBytes: 4 * 1024 * 1024, bytesPerSecond: 1024 * 1024 }),
    );
    expect(view.fraction).toBe(0.25);
    expect(view.amount).toBe('1.0 MiB of 4.0 MiB');
    expect(view.speed).toBe('1.0 MiB/s');
    expect(view.eta).toBe('3 s left');
  });

  it('has no fraction or ETA when the size is unknown, and says when it verifies', () => {
    const unknown = progressView(progress({ receivedBytes: 2048, bytesPerSecond: 100 }));
    expect(unknown.fraction).toBeUndefined();
    expect(unknown.eta).toBeUndefined();
    expect(progressView(progress({ phase: 'verifying', receivedBytes: 10, totalBytes: 10 })).eta).toBe(
      'verifying…',
    );
  });
});

describe('charts', () => {
  it('scales bars to the largest value and never draws a negative bar', () => {
    expect(barLengths([1, 2, 4], 100)).toEqual([25, 50, 100]);
    expect(barLengths([0, 0], 100)).toEqual([0, 0]);
  });

  it('orders days by date and other groups by size, naming users', () => {
    const rows = [
      {
        day: '2026-01-02',
        userId: 2,
        requests: 1,
        promptTokens: 1,
        completionTokens: 1,
        totalTokens: 2,
        cost: 5,
      },
      {
        day: '2026-01-01',
        userId: 1,
        requests: 1,
        promptTokens: 1,
        completionTokens: 1,
        totalTokens: 2,
        cost: 9,
      },
    ];
    expect(usageBars(rows, 'day', 'cost', String).map((bar) => bar.label)).toEqual([
      '2026-01-01',
      '2026-01-02',
    ]);
    expect(usageBars(rows, 'user', 'cost', (id) => `u${id}`)).toEqual([
      { label: 'u1', value: 9 },
      { label: 'u2', value: 5 },
    ]);
  });

  it('draws sparklines bottom-up and keeps a bounded history', () => {
    expect(sparklinePoints([0, 5, 10], 100, 10)).toBe('0.0,10.0 50.0,5.0 100.0,0.0');
    const snapshot: TelemetrySnapshot = {
      at: '2026-01-01T00:00:00.000Z',
      source: 'services',
      summary: {
        requestsPerSecond: 1,
        latencyMs: { p50: 1, p95: 2, p99: 3 },
        tokensPerSecond: 1,
        sandboxRunsPerMinute: {},
        queueDepth: null,
      },
      reasons: { queueDepth: 'not exported' },
      panels: [],
    };
    let history: TelemetrySnapshot[] = [];
    for (let i = 0; i < HISTORY_LENGTH + 5; i += 1) history = pushSnapshot(history, snapshot);
    expect(history).toHaveLength(HISTORY_LENGTH);
  });

  it('leaves unknown readings out of a sparkline instead of drawing them as zero', () => {
    expect(sparklinePoints([null, 10, null, 5], 30, 10)).toBe('10.0,0.0 30.0,5.0');
    expect(sparklinePoints([null, null], 30, 10)).toBe('');
    expect(sparklinePoints([4], 30, 10)).toBe('0.0,0.0 30.0,0.0');
  });

  it('writes panel values in their units and unknown ones as a dash', () => {
    expect(formatPanelValue(0.0123, 's')).toBe('12.3 ms');
    expect(formatPanelValue(2.5, 's')).toBe('2.5 s');
    expect(formatPanelValue(0.05, 'ratio')).toBe('5 %');
    expect(formatPanelValue(1536, 'bytes')).toBe('1.5 KiB');
    expect(formatPanelValue(1234.4, 'req/s')).toBe('1,234 req/s');
    expect(formatPanelValue(null, 'req/s')).toBe('—');
    expect(labelText({})).toBe('all');
    expect(labelText({ job: 'api', model: 'm' })).toBe('job=api, model=m');
  });
});

describe('small views', () => {
  it('picks the admin tab from the path', () => {
    expect(tabOf('/admin')).toBe('users');
    expect(tabOf('/admin/audit')).toBe('audit');
    expect(tabOf('/admin/nonsense')).toBe('users');
  });

  it('writes audit details and tool arguments compactly', () => {
    expect(detailsText({ from: 'viewer', to: 'developer', amount: 5 })).toBe(
      'from=viewer · to=developer · amount=5',
    );
    expect(argumentSummary({ path: 'a.py', n: 2 })).toBe('path: "a.py", n: 2');
  });

  it('offers loaded models first, then ready ones, and starts with the remembered one', () => {
    const models = [model('b', 'ready'), model('a', 'loaded'), model('c', 'registered')];
    expect(pickableModels(models).map((m) => m.name)).toEqual(['a', 'b']);
    expect(initialModel(models, 'b')).toBe('b');
    expect(initialModel(models, 'c')).toBe('a');
    expect(initialModel([], null)).toBeUndefined();
  });
});
