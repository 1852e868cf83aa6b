// API keys of every user: list (revoked ones on request), create for anyone (the secret is shown once), revoke.
import { ROLES, type ApiKey, type Role, type User } from '@cyber/contract';
import { useState } from 'react';
import { useRpc } from '../../rpc/RpcProvider.tsx';
import { buttonClass, ConfirmDialog, Modal } from '../../ui/Dialog.tsx';
import { ErrorLine, Field, FormActions, useFormAction } from '../../ui/form.tsx';
import { SecretOnceDialog } from './SecretOnceDialog.tsx';
import {
  cellClass,
  DataTable,
  formatTime,
  inputClass,
  OptionList,
  Section,
  smallButton,
  TextInput,
} from './ui.tsx';
import { useLoad } from './use-load.ts';
import { useUserNames } from './use-user-names.ts';

const KEY_COLUMNS = ['Label', 'Owner', 'Prefix', 'Role cap', 'Created', 'Expires', 'Last used', 'State'];

/** Props of {@link KeysPanel}. */
interface Props {
  me: User;
}

/** The API keys section. */
export function KeysPanel({ me }: Props) {
  const rpc = useRpc();
  const [includeRevoked, setIncludeRevoked] = useState(false);
  const keys = useLoad(() => rpc.call('keys.list', { limit: 100, includeRevoked }), String(includeRevoked));
  const { users, nameOf } = useUserNames();
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiKey | undefined>(undefined);

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
      <DataTable
        testId="keys-table"
        columns={KEY_COLUMNS}
        state={keys}
        rows={items}
        emptyText="No API keys."
        renderRow={(key) => (
          <tr key={key.id} className="border-b border-border">
            <td className={cellClass.body}>{key.label}</td>
            <td className={cellClass.body}>{nameOf(key.userId)}</td>
            <td className={`${cellClass.body} font-mono`}>{key.prefix}…</td>
            <td className={cellClass.body}>{key.roleCap ?? 'owner’s role'}</td>
            <td className={cellClass.body}>{formatTime(key.createdAt)}</td>
            <td className={cellClass.body}>{key.expiresAt === null ? 'never' : formatTime(key.expiresAt)}</td>
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
        )}
      />
      {creating && (
        <CreateKeyDialog
          me={me}
          users={users}
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
  const form = useFormAction();
  const [secret, setSecret] = useState<string | undefined>(undefined);

  const create = async () => {
    const result = await rpc.call('keys.create', {
      label: label.trim(),
      ...(owner === me.id ? {} : { userId: owner }),
      ...(roleCap === '' ? {} : { roleCap }),
      ...(expires === '' ? {} : { expiresAt: new Date(`${expires}T23:59:59Z`).toISOString() }),
    });
    setSecret(result.secret);
    onCreated();
  };

  if (secret !== undefined) {
    return (
      <SecretOnceDialog
        title="API key created"
        secret={secret}
        testId="key-secret"
        copyable
        onClose={onClose}
      >
        Copy the key now: it is shown only once and cannot be recovered. Send it as the X-Cyber-Token header.
      </SecretOnceDialog>
    );
  }
  return (
    <Modal title="New API key" onClose={onClose}>
      <form onSubmit={form.submitWith(create)} className="flex flex-col gap-2">
        <Field label="Label">
          <TextInput autoFocus required value={label} onChange={setLabel} />
        </Field>
        <Field label="Owner">
          <select value={owner} onChange={(e) => setOwner(Number(e.target.value))} className={inputClass}>
            {(users.length === 0 ? [me] : users).map((user) => (
              <option key={user.id} value={user.id}>
                {user.username}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Role cap">
          <select
            value={roleCap}
            onChange={(e) => setRoleCap(e.target.value as Role | '')}
            className={inputClass}
          >
            <option value="">the owner’s role</option>
            <OptionList values={ROLES} />
          </select>
        </Field>
        <Field label="Expires (optional, end of that day UTC)">
          <TextInput type="date" value={expires} onChange={setExpires} />
        </Field>
        <ErrorLine error={form.error} />
        <FormActions submitLabel="Create" busy={form.busy} onCancel={onClose} />
      </form>
    </Modal>
  );
}
