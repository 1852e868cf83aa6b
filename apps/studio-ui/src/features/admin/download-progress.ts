// What a download's progress bar shows: the fraction done, the speed and the time left.
import type { DownloadProgress } from '@cyber/contract';
import { formatBytes, formatDuration } from '../chat/format.ts';

/** The numbers of a progress bar. */
export interface ProgressView {
  /** 0..1, or undefined when the total size is unknown. */
  fraction: number | undefined;
  /** e.g. `"12.0 MiB of 30.0 MiB"`. */
  amount: string;
  /** e.g. `"2.5 MiB/s"`. */
  speed: string;
  /** e.g. `"7 s left"`, or undefined when it cannot be told. */
  eta: string | undefined;
}

/** The progress bar's numbers for a `models.downloadProgress` notification. */
export function progressView(progress: DownloadProgress): ProgressView {
  const { receivedBytes, totalBytes, bytesPerSecond, phase } = progress;
  const fraction =
    totalBytes === null || totalBytes === 0
      ? undefined
      : Math.min(1, Math.max(0, receivedBytes / totalBytes));
  const amount =
    totalBytes === null
      ? formatBytes(receivedBytes)
      : `${formatBytes(receivedBytes)} of ${formatBytes(totalBytes)}`;
  const speed = `${formatBytes(bytesPerSecond)}/s`;
  let eta: string | undefined;
  if (phase === 'verifying') eta = 'verifying…';
  else if (totalBytes !== null && bytesPerSecond > 0) {
    eta = `${formatDuration(Math.max(0, totalBytes - receivedBytes) / bytesPerSecond)} left`;
  }
  return { fraction, amount, speed, eta };
}
