// Models: register from a URL, download with a live progress bar (speed, ETA, cancel; a cancelled download
// resumes), load and unload, each model's status and the memory they take. Progress comes from the download's
// own stream and, for downloads started elsewhere, from models.status polled every 2 s.
import { isRpcError, type DownloadProgress, type Model } from '@cyber/contract';
import { useEffect, useRef, useState } from 'react';
import { errorText } from '../../rpc/error-text.ts';
import { useRpc } from '../../rpc/RpcProvider.tsx';
import { buttonClass, Modal } from '../../ui/Dialog.tsx';
import { ErrorLine, Field, FormActions, useFormAction } from '../../ui/form.tsx';
import { formatBytes, formatCount, formatCredits } from '../chat/format.ts';
import { progressView } from './download-progress.ts';
import { cellClass, DataTable, Section, smallButton, TextInput } from './ui.tsx';
import { useLoad } from './use-load.ts';

const STATUS_POLL_MS = 2_000;
const MODEL_COLUMNS = ['Model', 'Status', 'Size', 'Context', 'Price / token', 'In memory', 'Actions'];

const STATUS_CLASS: Record<Model['status'], string> = {
  registered: 'text-muted',
  downloading: 'text-accent',
  ready: 'text-fg',
  loading: 'text-accent',
  loaded: 'text-success',
  failed: 'text-danger',
};

/** The models section. */
export function ModelsPanel() {
  const rpc = useRpc();
  const models = useLoad(() => rpc.call('models.list', { limit: 100 }), 'models');
  const status = useLoad(() => rpc.call('models.status', {}), 'status');
  const [progress, setProgress] = useState<Record<string, DownloadProgress>>({});
  const [busy, setBusy] = useState<Record<string, string>>({});
  const [messages, setMessages] = useState<Record<string, { text: string; error: boolean }>>({});
  const [registering, setRegistering] = useState(false);
  const downloads = useRef(new Map<string, AbortController>());

  useEffect(() => {
    const timer = setInterval(() => void status.reload(), STATUS_POLL_MS);
    const running = downloads.current;
    return () => {
      clearInterval(timer);
      // Leaving the page stops following a download, not the download itself.
      for (const controller of running.values()) controller.abort();
    };
  }, [status.reload]);

  const say = (name: string, text: string, error = false) =>
    setMessages((current) => ({ ...current, [name]: { text, error } }));
  const clear = (name: string) =>
    setMessages((current) => {
      const next = { ...current };
      delete next[name];
      return next;
    });
  const setBusyFor = (name: string, what: string | undefined) =>
    setBusy((current) => {
      const next = { ...current };
      if (what === undefined) delete next[name];
      else next[name] = what;
      return next;
    });

  const download = async (name: string) => {
    const controller = new AbortController();
    downloads.current.set(name, controller);
    setBusyFor(name, 'downloading');
    say(name, 'Download started.');
    let first = true;
    try {
      const result = await rpc.stream(
        'models.download',
        { name },
        {
          signal: controller.signal,
          onNotification: (event: DownloadProgress) => {
            setProgress((current) => ({ ...current, [name]: event }));
            if (first) {
              // The registry now says downloading; show that instead of the status from before.
              first = false;
              clear(name);
              void models.reload();
            }
          },
        },
      );
      say(
        name,
        `Downloaded ${formatBytes(result.sizeBytes)}${result.resumed ? ' (resumed)' : ''}, sha256 verified.`,
      );
    } catch (failure) {
      if (isRpcError(failure, 'cancelled'))
        say(name, 'Download cancelled; the partial file is kept and resumes.');
      else say(name, errorText(failure), true);
    } finally {
      downloads.current.delete(name);
      setProgress((current) => {
        const next = { ...current };
        delete next[name];
        return next;
      });
      setBusyFor(name, undefined);
      await Promise.all([models.reload(), status.reload()]);
    }
  };

  const cancel = async (name: string) => {
    try {
      await rpc.call('models.cancelDownload', { name });
    } catch (failure) {
      say(name, errorText(failure), true);
    }
  };

  const act = async (name: string, what: 'load' | 'unload') => {
    setBusyFor(name, what === 'load' ? 'loading' : 'unloading');
    try {
      if (what === 'load') {
        const result = await rpc.call('models.load', { name });
        say(
          name,
          `Loaded in ${(result.loadMs / 1000).toFixed(1)} s, ${formatBytes(result.model.memoryBytes)} in memory.`,
        );
      } else {
        const result = await rpc.call('models.unload', { name });
        say(
          name,
          result.cancelledRequests > 0
            ? `Unloaded; ${result.cancelledRequests} requests cancelled.`
            : 'Unloaded.',
        );
      }
    } catch (failure) {
      say(name, errorText(failure), true);
    } finally {
      setBusyFor(name, undefined);
      await Promise.all([models.reload(), status.reload()]);
    }
  };

  const items = models.data?.items ?? [];
  const loaded = new Map((status.data?.loaded ?? []).map((entry) => [entry.name, entry]));
  const serverProgress = new Map((status.data?.downloads ?? []).map((entry) => [entry.model, entry]));
  const memory = status.data?.memory;

  return (
    <Section
      title="Models"
      actions={
        <button type="button" className={buttonClass.primary} onClick={() => setRegistering(true)}>
          Register model
        </button>
      }
    >
      {memory !== undefined && (
        <p className="text-muted" data-testid="models-memory">
          Memory: {formatBytes(memory.modelsBytes)} used by models · {formatBytes(memory.freeBytes)} free of{' '}
          {formatBytes(memory.totalBytes)}
        </p>
      )}
      {status.error !== undefined && (
        <p role="alert" className="text-danger">
          Status unavailable: {status.error}
        </p>
      )}
      <DataTable
        testId="models-table"
        columns={MODEL_COLUMNS}
        state={models}
        rows={items}
        emptyText="No models registered."
        renderRow={(model) => {
          const live = progress[model.name] ?? serverProgress.get(model.name);
          const inMemory = loaded.get(model.name);
          const doing = busy[model.name];
          const message = messages[model.name];
          const downloadable = model.status === 'registered' || model.status === 'failed';
          return (
            <tr key={model.id} className="border-b border-border" data-testid={`model-row-${model.name}`}>
              <td className={cellClass.body}>
                <div className="font-semibold">{model.name}</div>
                <div className="text-xs text-muted">
                  {[
                    model.quantization,
                    model.parameters === null ? null : `${formatCount(model.parameters)} params`,
                  ]
                    .filter((part) => part !== null)
                    .join(' · ')}
                </div>
              </td>
              <td className={cellClass.body}>
                <span className={STATUS_CLASS[model.status]} data-testid="model-status">
                  {model.status}
                </span>
                {model.error !== null && <div className="text-xs text-danger">{model.error}</div>}
              </td>
              <td className={cellClass.body}>
                {model.sizeBytes === null ? '—' : formatBytes(model.sizeBytes)}
              </td>
              <td className={cellClass.body}>{formatCount(model.contextSize)}</td>
              <td className={`${cellClass.body} font-mono`}>{formatCredits(model.costPerToken)}</td>
              <td className={cellClass.body}>
                {inMemory === undefined ? (
                  '—'
                ) : (
                  <span>
                    {formatBytes(inMemory.memoryBytes)} · {inMemory.activeSequences}/{inMemory.sequences} busy
                    {inMemory.queued > 0 ? ` · ${inMemory.queued} queued` : ''}
                  </span>
                )}
              </td>
              <td className={`${cellClass.body} min-w-[14rem]`}>
                {live !== undefined ? (
                  <DownloadBar progress={live} onCancel={() => void cancel(model.name)} />
                ) : (
                  <div className="flex flex-wrap gap-1">
                    {downloadable && (
                      <button
                        type="button"
                        className={smallButton}
                        disabled={doing !== undefined}
                        onClick={() => void download(model.name)}
                      >
                        Download
                      </button>
                    )}
                    {model.status === 'ready' && (
                      <button
                        type="button"
                        className={smallButton}
                        disabled={doing !== undefined}
                        onClick={() => void act(model.name, 'load')}
                      >
                        Load
                      </button>
                    )}
                    {model.status === 'loaded' && (
                      <button
                        type="button"
                        className={smallButton}
                        disabled={doing !== undefined}
                        onClick={() => void act(model.name, 'unload')}
                      >
                        Unload
                      </button>
                    )}
                    {doing !== undefined && <span className="text-xs text-muted">{doing}…</span>}
                  </div>
                )}
                {message !== undefined && (
                  <p
                    className={`text-xs ${message.error ? 'text-danger' : 'text-muted'}`}
                    role={message.error ? 'alert' : 'status'}
                  >
                    {message.text}
                  </p>
                )}
              </td>
            </tr>
          );
        }}
      />
      {registering && (
        <RegisterDialog onClose={() => setRegistering(false)} onRegistered={() => void models.reload()} />
      )}
    </Section>
  );
}

/** Props of {@link DownloadBar}. */
interface BarProps {
  progress: DownloadProgress;
  onCancel: () => void;
}

/** A live download: bar, amount, speed, ETA and cancel. */
function DownloadBar({ progress, onCancel }: BarProps) {
  const view = progressView(progress);
  const percent = view.fraction === undefined ? undefined : Math.round(view.fraction * 100);
  return (
    <div className="flex flex-col gap-1" data-testid="download-progress">
      <div
        role="progressbar"
        aria-label={`Download of ${progress.model}`}
        aria-valuemin={0}
        aria-valuemax={100}
        {...(percent === undefined ? {} : { 'aria-valuenow': percent })}
        className="h-2 w-full overflow-hidden rounded bg-surface-alt"
      >
        <div
          className={`h-full bg-accent ${percent === undefined ? 'w-1/3 animate-pulse' : ''}`}
          style={percent === undefined ? undefined : { width: `${percent}%` }}
        />
      </div>
      <div className="flex flex-wrap items-center gap-2 text-xs text-muted">
        <span>{view.amount}</span>
        <span>{view.speed}</span>
        {view.eta !== undefined && <span>{view.eta}</span>}
        <button type="button" className={`${smallButton} ml-auto`} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/** Props of {@link RegisterDialog}. */
interface RegisterProps {
  onClose: () => void;
  onRegistered: () => void;
}

/** Registers a model from an http(s) URL. */
function RegisterDialog({ onClose, onRegistered }: RegisterProps) {
  const rpc = useRpc();
  const [name, setName] = useState('');
  const [sourceUrl, setSourceUrl] = useState('');
  const [contextSize, setContextSize] = useState('4096');
  const [costPerToken, setCostPerToken] = useState('1');
  const [sha256, setSha256] = useState('');
  const [quantization, setQuantization] = useState('');
  const form = useFormAction();

  const register = async () => {
    await rpc.call('models.register', {
      name: name.trim(),
      sourceUrl: sourceUrl.trim(),
      contextSize: Number(contextSize),
      costPerToken: Number(costPerToken),
      ...(sha256.trim() === '' ? {} : { sha256: sha256.trim().toLowerCase() }),
      ...(quantization.trim() === '' ? {} : { quantization: quantization.trim() }),
    });
    onRegistered();
    onClose();
  };

  return (
    <Modal title="Register model" onClose={onClose}>
      <form onSubmit={form.submitWith(register)} className="flex flex-col gap-2">
        <Field label="Name">
          <TextInput value={name} onChange={setName} required autoFocus />
        </Field>
        <Field label="GGUF URL (http or https)">
          <TextInput value={sourceUrl} onChange={setSourceUrl} required type="url" />
        </Field>
        <Field label="Context size (tokens)">
          <TextInput value={contextSize} onChange={setContextSize} required inputMode="numeric" />
        </Field>
        <Field label="Price per token (micro-credits)">
          <TextInput value={costPerToken} onChange={setCostPerToken} required inputMode="numeric" />
        </Field>
        <Field label="sha256 (optional)">
          <TextInput value={sha256} onChange={setSha256} />
        </Field>
        <Field label="Quantization (optional, e.g. Q4_K_M)">
          <TextInput value={quantization} onChange={setQuantization} />
        </Field>
        <ErrorLine error={form.error} />
        <FormActions submitLabel="Register" busy={form.busy} onCancel={onClose} />
      </form>
    </Modal>
  );
}
