// API keys of every user: list (revoked ones on request), create for anyone (the secret is shown once), revoke.
import { ROLES, type ApiKey, type Role, type User } from '@cyber/contract';
import { useState, type FormEvent } from 'react';
import { errorText } from '../../rpc/error-text.ts';
import { useRpc } from '../../rpc/RpcProvider.tsx';
import { buttonClass, ConfirmDialog, Modal } from '../../ui/Dialog.tsx';
import { cellClass, formatTime, inputClass, LoadState, Section, smallButton } from './ui.tsx';
import { useLoad } from './use-load.ts';

/** Props of {@link KeysPanel}. */
interface Props {
  me: User;
}

/** The API keys section. */
export function KeysPanel({ me }: Props) {
  const rpc = useRpc();
  const [includeRevoked, setIncludeRevoked] = useState(false);
  const keys = useLoad(() => rpc.call('keys.list', { limit: 100, includeRevoked }), String(includeRevoked));
  const users = useLoad(() => rpc.call('users.list', { limit: 100 }), 'users');
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiKey | undefined>(undefined);
  const nameOf = (userId: number) =>
    users.data?.items.find((user) => user.id === userId)?.username ?? `user ${userId}`;

  const items = keys.data?.items ?? [];
  return (
    <Section
      title="API keys"
      actions={
        <>
          <label className="flex items-center gap-1 text-muted">
            <input
              type="checkbox"
              checked={includeRevoked}
              onChange={(e) => setIncludeRevoked(e.target.checked)}
            />
            Show revoked
          </label>
          <button type="button" className={buttonClass.primary} onClick={() => setCreating(true)}>
            New key
          </button>
        </>
      }
    >
      <LoadState
        loading={keys.loading}
        error={keys.error}
        empty={items.length === 0}
        emptyText="No API keys."
      />
      {items.length > 0 && (
        <div className="overflow-x-auto">
          <table className="w-full border-collapse text-sm" data-testid="keys-table">
            <thead>
              <tr className="border-b border-border">
                <th className={cellClass.head}>Label</th>
                <th className={cellClass.head}>Owner</th>
                <th className={cellClass.head}>Prefix</th>
                <th className={cellClass.head}>Role cap</th>
                <th className={cellClass.head}>Created</th>
                <th className={cellClass.head}>Expires</th>
                <th className={cellClass.head}>Last used</th>
                <th className={cellClass.head}>State</th>
              </tr>
            </thead>
            <tbody>
              {items.map((key) => (
                <tr key={key.id} className="border-b border-border">
                  <td className={cellClass.body}>{key.label}</td>
                  <td className={cellClass.body}>{nameOf(key.userId)}</td>
                  <td className={`${cellClass.body} font-mono`}>{key.prefix}…</td>
                  <td className={cellClass.body}>{key.roleCap ?? 'owner’s role'}</td>
                  <td className={cellClass.body}>{formatTime(key.createdAt)}</td>
                  <td className={cellClass.body}>
                    {key.expiresAt === null ? 'never' : formatTime(key.expiresAt)}
                  </td>
                  <td className={cellClass.body}>{formatTime(key.lastUsedAt)}</td>
                  <td className={cellClass.body}>
                    {key.revokedAt === null ? (
                      <button type="button" className={smallButton} onClick={() => setRevoking(key)}>
                        Revoke
                      </button>
                    ) : (
                      <span className="text-muted">revoked {formatTime(key.revokedAt)}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {creating && (
        <CreateKeyDialog
          me={me}
          users={users.data?.items ?? []}
          onClose={() => setCreating(false)}
          onCreated={() => void keys.reload()}
        />
      )}
      {revoking !== undefined && (
        <ConfirmDialog
          title="Revoke API key"
          text={`Revoke “${revoking.label}” of ${nameOf(revoking.userId)}? Scripts using it stop working within a second.`}
          confirmLabel="Revoke"
          onConfirm={async () => {
            await rpc.call('keys.revoke', { keyId: revoking.id });
            await keys.reload();
          }}
          onClose={() => setRevoking(undefined)}
        />
      )}
    </Section>
  );
}

/** Props of {@link CreateKeyDialog}. */
interface CreateProps {
  me: User;
  users: readonly User[];
  onClose: () => void;
  onCreated: () => void;
}

/** Creates a key and shows its secret once. */
function CreateKeyDialog({ me, users, onClose, onCreated }: CreateProps) {
  const rpc = useRpc();
  const [label, setLabel] = useState('');
  const [owner, setOwner] = useState(me.id);
  const [roleCap, setRoleCap] = useState<Role | ''>('');
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [secret, setSecret] = useState<string | undefined>(undefined);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const result = await rpc.call('keys.create', {
        label: label.trim(),
        ...(owner === me.id ? {} : { userId: owner }),
        ...(roleCap === '' ? {} : { roleCap }),
        ...(expires === '' ? {} : { expiresAt: new Date(`${expires}T23:59:59Z`).toISOString() }),
      });
      setSecret(result.secret);
      onCreated();
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };

  if (secret !== undefined) {
    return (
      <Modal title="API key created" onClose={onClose}>
        <p>
          Copy the key now: it is shown only once and cannot be recovered. Send it as the X-Cyber-Token
          header.
        </p>
        <code className="select-all break-all rounded bg-surface-alt p-2 font-mono" data-testid="key-secret">
          {secret}
        </code>
        <div className="flex justify-end gap-2">
          <button
            type="button"
            className={buttonClass.plain}
            onClick={() => void navigator.clipboard?.writeText(secret).catch(() => undefined)}
          >
            Copy
          </button>
          <button type="button" className={buttonClass.primary} onClick={onClose} autoFocus>
            Done
          </button>
        </div>
      </Modal>
    );
  }
  return (
    <Modal title="New API key" onClose={onClose}>
      <form onSubmit={(event) => void submit(event)} className="flex flex-col gap-2">
        <label className="flex flex-col gap-1">
          <span className="text-muted">Label</span>
          <input
            autoFocus
            required
            value={label}
            onChange={(e) => setLabel(e.target.value)}
            className={inputClass}
          />
        </label>
        <label className="flex flex-col gap-1">
          <span className="text-muted">Owner</span>
          <select value={owner} onChange={(e) => setOwner(Number(e.target.value))} className={inputClass}>
            {(users.length === 0 ? [me] : users).map((user) => (
              <option key={user.id} value={user.id}>
                {user.username}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1">
          <span className="text-muted">Role cap</span>
          <select
            value={roleCap}
            onChange={(e) => setRoleCap(e.target.value as Role | '')}
            className={inputClass}
          >
            <option value="">the owner’s role</option>
            {ROLES.map((role) => (
              <option key={role} value={role}>
                {role}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1">
          <span className="text-muted">Expires (optional, end of that day UTC)</span>
          <input
            type="date"
            value={expires}
            onChange={(e) => setExpires(e.target.value)}
            className={inputClass}
          />
        </label>
        {error !== undefined && (
          <p role="alert" className="text-danger">
            {error}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <button type="button" className={buttonClass.plain} onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className={buttonClass.primary} disabled={busy}>
            Create
          </button>
        </div>
      </form>
    </Modal>
  );
}
