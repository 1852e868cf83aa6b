// Users: list and search, create (a generated password is shown once), change role, disable / enable, grant
// or take credits with a reason, and see a user's usage by model.
import { ROLES, type Role, type User } from '@cyber/contract';
import { useState, type FormEvent } from 'react';
import { errorText } from '../../rpc/error-text.ts';
import { useRpc } from '../../rpc/RpcProvider.tsx';
import { buttonClass, Modal } from '../../ui/Dialog.tsx';
import { ErrorLine, Field, FormActions, useFormAction } from '../../ui/form.tsx';
import { formatCount, formatCredits, parseCredits } from '../chat/format.ts';
import { SecretOnceDialog } from './SecretOnceDialog.tsx';
import {
  cellClass,
  DataTable,
  formatTime,
  inputClass,
  LoadState,
  OptionList,
  Section,
  smallButton,
  TextInput,
} from './ui.tsx';
import { useLoad } from './use-load.ts';

const USER_COLUMNS = ['User', 'Role', 'State', 'Balance (credits)', 'Last sign-in', 'Actions'];

/** Props of {@link UsersPanel}. */
interface Props {
  /** The signed-in admin (their own role and state cannot be changed from here). */
  me: User;
}

/** The users section. */
export function UsersPanel({ me }: Props) {
  const rpc = useRpc();
  const [query, setQuery] = useState('');
  const users = useLoad(
    () => rpc.call('users.list', { limit: 100, ...(query.trim() === '' ? {} : { query: query.trim() }) }),
    query,
  );
  const [creating, setCreating] = useState(false);
  const [granting, setGranting] = useState<User | undefined>(undefined);
  const [usageOf, setUsageOf] = useState<User | undefined>(undefined);
  const [rowError, setRowError] = useState<{ userId: number; text: string } | undefined>(undefined);

  const updateUser = async (user: User, change: { role?: Role; disabled?: boolean }) => {
    setRowError(undefined);
    try {
      await rpc.call('users.update', { userId: user.id, ...change });
      await users.reload();
    } catch (failure) {
      setRowError({ userId: user.id, text: errorText(failure) });
    }
  };

  const items = users.data?.items ?? [];
  return (
    <Section
      title="Users"
      actions={
        <>
          <TextInput
            aria-label="Search users"
            placeholder="Search name or email"
            value={query}
            onChange={setQuery}
          />
          <button type="button" className={buttonClass.primary} onClick={() => setCreating(true)}>
            New user
          </button>
        </>
      }
    >
      <DataTable
        testId="users-table"
        columns={USER_COLUMNS}
        state={users}
        rows={items}
        emptyText="No users."
        renderRow={(user) => (
          <tr key={user.id} className="border-b border-border" data-testid={`user-row-${user.username}`}>
            <td className={cellClass.body}>
              <div className="font-semibold">{user.username}</div>
              <div className="text-xs text-muted">{user.email ?? 'no email'}</div>
            </td>
            <td className={cellClass.body}>
              <select
                aria-label={`Role of ${user.username}`}
                value={user.role}
                disabled={user.id === me.id}
                onChange={(event) => void updateUser(user, { role: event.target.value as Role })}
                className={inputClass}
              >
                <OptionList values={ROLES} />
              </select>
            </td>
            <td className={cellClass.body}>
              <span className={user.disabled ? 'text-danger' : 'text-success'}>
                {user.disabled ? 'disabled' : 'active'}
              </span>
            </td>
            <td className={`${cellClass.body} font-mono`} data-testid="user-balance">
              {formatCredits(user.balance)}
            </td>
            <td className={cellClass.body}>{formatTime(user.lastLoginAt)}</td>
            <td className={cellClass.body}>
              <div className="flex flex-wrap gap-1">
                <button type="button" className={smallButton} onClick={() => setGranting(user)}>
                  Grant
                </button>
                <button type="button" className={smallButton} onClick={() => setUsageOf(user)}>
                  Usage
                </button>
                <button
                  type="button"
                  className={smallButton}
                  disabled={user.id === me.id}
                  onClick={() => void updateUser(user, { disabled: !user.disabled })}
                >
                  {user.disabled ? 'Enable' : 'Disable'}
                </button>
              </div>
              {rowError?.userId === user.id && (
                <p role="alert" className="text-xs text-danger">
                  {rowError.text}
                </p>
              )}
            </td>
          </tr>
        )}
      />
      {creating && (
        <CreateUserDialog onClose={() => setCreating(false)} onCreated={() => void users.reload()} />
      )}
      {granting !== undefined && (
        <GrantDialog
          user={granting}
          onClose={() => setGranting(undefined)}
          onGranted={() => void users.reload()}
        />
      )}
      {usageOf !== undefined && <UserUsageDialog user={usageOf} onClose={() => setUsageOf(undefined)} />}
    </Section>
  );
}

/** Props of {@link CreateUserDialog}. */
interface CreateProps {
  onClose: () => void;
  onCreated: () => void;
}

/** Creates a user; shows a generated password once. */
function CreateUserDialog({ onClose, onCreated }: CreateProps) {
  const rpc = useRpc();
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('developer');
  const form = useFormAction();
  const [generated, setGenerated] = useState<{ username: string; password: string } | undefined>(undefined);

  const create = async () => {
    const result = await rpc.call('users.create', {
      username: username.trim(),
      role,
      ...(email.trim() === '' ? {} : { email: email.trim() }),
      ...(password === '' ? {} : { password }),
    });
    onCreated();
    if (result.generatedPassword === undefined) onClose();
    else setGenerated({ username: result.user.username, password: result.generatedPassword });
  };

  if (generated !== undefined) {
    return (
      <SecretOnceDialog
        title="User created"
        secret={generated.password}
        testId="generated-password"
        onClose={onClose}
      >
        The password of <strong>{generated.username}</strong> is shown only now. Hand it over safely.
      </SecretOnceDialog>
    );
  }
  return (
    <Modal title="New user" onClose={onClose}>
      <form onSubmit={form.submitWith(create)} className="flex flex-col gap-2">
        <Field label="Username">
          <TextInput autoFocus required value={username} onChange={setUsername} />
        </Field>
        <Field label="Email (optional)">
          <TextInput type="email" value={email} onChange={setEmail} />
        </Field>
        <Field label="Password (optional, at least 12 characters; empty generates one)">
          <TextInput type="password" value={password} onChange={setPassword} />
        </Field>
        <Field label="Role">
          <select value={role} onChange={(e) => setRole(e.target.value as Role)} className={inputClass}>
            <OptionList values={ROLES} />
          </select>
        </Field>
        <ErrorLine error={form.error} />
        <FormActions submitLabel="Create" busy={form.busy} onCancel={onClose} />
      </form>
    </Modal>
  );
}

/** Props of {@link GrantDialog}. */
interface GrantProps {
  user: User;
  onClose: () => void;
  onGranted: () => void;
}

/** Credits or debits a user's balance, with a reason for the audit log. */
function GrantDialog({ user, onClose, onGranted }: GrantProps) {
  const rpc = useRpc();
  const [kind, setKind] = useState<'credit' | 'debit'>('credit');
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const form = useFormAction();
  // One key per dialog: a double submit or a retry after a lost answer is applied once.
  const [idempotencyKey] = useState(() => crypto.randomUUID());

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const micro = parseCredits(amount);
    if (micro === undefined || micro <= 0) {
      form.setError('Enter a positive amount of credits, with at most six decimals.');
      return;
    }
    void form.run(async () => {
      await rpc.call('billing.grant', {
        userId: user.id,
        kind,
        amount: micro,
        reason: reason.trim(),
        idempotencyKey,
      });
      onGranted();
      onClose();
    });
  };

  return (
    <Modal title={`Balance of ${user.username}`} onClose={onClose}>
      <p className="text-muted">
        Now: <span className="font-mono text-fg">{formatCredits(user.balance)}</span> credits
      </p>
      <form onSubmit={submit} className="flex flex-col gap-2">
        <fieldset className="flex gap-3">
          <legend className="sr-only">Kind</legend>
          <label className="flex items-center gap-1">
            <input type="radio" name="kind" checked={kind === 'credit'} onChange={() => setKind('credit')} />{' '}
            Add
          </label>
          <label className="flex items-center gap-1">
            <input type="radio" name="kind" checked={kind === 'debit'} onChange={() => setKind('debit')} />{' '}
            Take
          </label>
        </fieldset>
        <Field label="Credits">
          <TextInput
            autoFocus
            required
            inputMode="decimal"
            value={amount}
            onChange={setAmount}
            aria-label="Credits"
          />
        </Field>
        <Field label="Reason (kept in the audit log)">
          <TextInput required value={reason} onChange={setReason} aria-label="Reason" />
        </Field>
        <ErrorLine error={form.error} />
        <FormActions submitLabel={kind === 'credit' ? 'Grant' : 'Take'} busy={form.busy} onCancel={onClose} />
      </form>
    </Modal>
  );
}

/** Props of {@link UserUsageDialog}. */
interface UsageProps {
  user: User;
  onClose: () => void;
}

/** A user's usage over the last 30 days, by model. */
function UserUsageDialog({ user, onClose }: UsageProps) {
  const rpc = useRpc();
  const usage = useLoad(
    () => rpc.call('usage.summary', { userId: user.id, groupBy: ['model'] }),
    String(user.id),
  );
  const rows = usage.data?.rows ?? [];
  return (
    <Modal title={`Usage of ${user.username} (30 days)`} onClose={onClose}>
      <LoadState
        loading={usage.loading}
        error={usage.error}
        empty={rows.length === 0}
        emptyText="No usage yet."
      />
      {rows.length > 0 && (
        <table className="w-full text-sm">
          <thead>
            <tr>
              <th className={cellClass.head}>Model</th>
              <th className={cellClass.head}>Requests</th>
              <th className={cellClass.head}>Tokens</th>
              <th className={cellClass.head}>Cost</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.model ?? ''}>
                <td className={cellClass.body}>{row.model}</td>
                <td className={cellClass.body}>{formatCount(row.requests)}</td>
                <td className={cellClass.body}>{formatCount(row.totalTokens)}</td>
                <td className={`${cellClass.body} font-mono`}>{formatCredits(row.cost)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="flex justify-end">
        <button type="button" className={buttonClass.plain} onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}
