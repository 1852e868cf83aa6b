-- Everything the auth service stores: accounts extended additively, signing keys for the session JWTs, rotating
-- refresh tokens, API keys, the append-only audit log and the balance grants. The original `users` columns
-- keep their meaning; nothing here drops or narrows them.

-- Accounts ---------------------------------------------------------------------------------------------------

ALTER TABLE users
  ADD COLUMN email         TEXT,
  ADD COLUMN disabled      BOOLEAN     NOT NULL DEFAULT false,
  ADD COLUMN last_login_at TIMESTAMPTZ,
  ADD COLUMN updated_at    TIMESTAMPTZ NOT NULL DEFAULT now();

-- Usernames and emails are compared case-insensitively: "Alice" and "alice" are one account. The original
-- UNIQUE (username) stays; this index is stricter and is what the service relies on.
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email)) WHERE email IS NOT NULL;
-- users.list filters by role and pages newest first.
CREATE INDEX users_role_id_idx ON users (role, id);

COMMENT ON COLUMN users.email IS 'Optional email address; unique case-insensitively; may be used to log in.';
COMMENT ON COLUMN users.disabled IS 'A disabled user cannot log in; its sessions are revoked and its tokens and keys refused.';
COMMENT ON COLUMN users.last_login_at IS 'Last successful auth.login (refreshes do not count).';
COMMENT ON COLUMN users.updated_at IS 'Last change of username, email, role, disabled or password.';
COMMENT ON COLUMN users.api_key_hash IS
  'Kept from the original plan for compatibility: the secret_hash of the user''s most recently created API key '
  'that is still active (not revoked, not expired at the time of the last key change), or NULL when there is none. '
  'The api_keys table is the truth; the keys module updates this column in the same transaction as every key '
  'create and revoke. A legacy single key written here before api_keys existed is honoured the same way.';

-- Session signing keys ---------------------------------------------------------------------------------------

-- Private keys are stored as plain PKCS#8 PEM. Encrypting them with a key from the environment would only help
-- against a database-only leak, and such a leak already exposes every password hash, refresh-token hash and the
-- ledger; the operator protects the database (and its backups) as the secret it is. Storing them in the database
-- rather than on disk lets several auth instances share keys and rotate them consistently.
CREATE TABLE signing_keys (
  kid             TEXT        PRIMARY KEY,
  alg             TEXT        NOT NULL CONSTRAINT signing_keys_alg_check CHECK (alg IN ('EdDSA', 'ES256')),
  public_jwk      JSONB       NOT NULL,
  private_key_pem TEXT        NOT NULL,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  retired_at      TIMESTAMPTZ,
  not_after       TIMESTAMPTZ,
  CONSTRAINT signing_keys_retired_consistent CHECK ((retired_at IS NULL) = (not_after IS NULL))
);

-- At most one key signs at a time; two instances starting together cannot both create one.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL;

COMMENT ON TABLE signing_keys IS 'Asymmetric keys that sign access JWTs; published (public part only) in the JWKS.';
COMMENT ON COLUMN signing_keys.private_key_pem IS 'PKCS#8 PEM, unencrypted (see the migration for why). A secret.';
COMMENT ON COLUMN signing_keys.retired_at IS 'When a newer key took over signing; NULL for the active key.';
COMMENT ON COLUMN signing_keys.not_after IS
  'When the last token this key signed has expired (retired_at + access TTL); it leaves the JWKS afterwards.';

-- Refresh tokens ---------------------------------------------------------------------------------------------

CREATE TABLE refresh_tokens (
  id          UUID        PRIMARY KEY DEFAULT gen_random_uuid(),
  family_id   UUID        NOT NULL,
  user_id     BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash  TEXT        NOT NULL UNIQUE,
  expires_at  TIMESTAMPTZ NOT NULL,
  rotated_at  TIMESTAMPTZ,
  replaced_by UUID        REFERENCES refresh_tokens (id) ON DELETE SET NULL,
  revoked_at  TIMESTAMPTZ,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id) WHERE revoked_at IS NULL;

COMMENT ON TABLE refresh_tokens IS
  'One row per refresh token ever issued. A login starts a family; each refresh retires the token (rotated_at, '
  'replaced_by) and issues the next of the same family. Presenting a retired token revokes the whole family.';
COMMENT ON COLUMN refresh_tokens.token_hash IS 'sha256 (base64url) of the 256-bit random token; the token is never stored.';

-- API keys ---------------------------------------------------------------------------------------------------

CREATE TABLE api_keys (
  id           UUID        PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  label        TEXT        NOT NULL,
  prefix       TEXT        NOT NULL,
  secret_hash  TEXT        NOT NULL,
  role_cap     TEXT        CONSTRAINT api_keys_role_cap_check CHECK (role_cap IN ('admin', 'developer', 'viewer')),
  expires_at   TIMESTAMPTZ,
  last_used_at TIMESTAMPTZ,
  revoked_at   TIMESTAMPTZ,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX api_keys_prefix_key ON api_keys (prefix);
CREATE INDEX api_keys_user_created_idx ON api_keys (user_id, created_at DESC);

COMMENT ON TABLE api_keys IS 'API keys for scripts (X-Cyber-Token). The key is shown once; only its hash is stored.';
COMMENT ON COLUMN api_keys.prefix IS 'Public leading part of the key, unique, used to find the row before checking the secret.';
COMMENT ON COLUMN api_keys.secret_hash IS 'Hash of the secret part; compared in constant time.';
COMMENT ON COLUMN api_keys.role_cap IS 'Most privileged role the key acts with; NULL means the owner''s role.';

-- Audit log --------------------------------------------------------------------------------------------------

-- actor_user_id has no foreign key on purpose: deleting a user must not rewrite (SET NULL) or delete the rows
-- that record what it did, and the trigger below refuses both anyway.
CREATE TABLE audit_log (
  id            UUID        PRIMARY KEY DEFAULT gen_random_uuid(),
  seq           BIGINT      GENERATED ALWAYS AS IDENTITY UNIQUE,
  actor_user_id BIGINT,
  actor_role    TEXT,
  action        TEXT        NOT NULL,
  target_type   TEXT        NOT NULL,
  target_id     TEXT,
  details       JSONB       NOT NULL DEFAULT '{}'::jsonb,
  trace_id      TEXT,
  ip            TEXT,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC, seq DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_user_id, seq DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, seq DESC);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, seq DESC);

COMMENT ON TABLE audit_log IS 'Append-only record of admin actions. UPDATE, DELETE and TRUNCATE are refused by triggers.';
COMMENT ON COLUMN audit_log.seq IS 'Insertion order; the paging cursor of audit.list.';
COMMENT ON COLUMN audit_log.actor_user_id IS 'Who did it (no foreign key: the row outlives the user); NULL for the system.';
COMMENT ON COLUMN audit_log.trace_id IS 'W3C trace id of the request (from traceparent), when there was one.';

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- Balance grants ---------------------------------------------------------------------------------------------

-- Part of the ledger like tokens_used: no ON DELETE CASCADE, so a user with grants is disabled, not deleted.
CREATE TABLE balance_grants (
  id              UUID        PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id         BIGINT      NOT NULL REFERENCES users (id),
  amount          BIGINT      NOT NULL CONSTRAINT balance_grants_amount_non_zero CHECK (amount <> 0),
  balance_after   BIGINT      NOT NULL CONSTRAINT balance_grants_balance_after_non_negative CHECK (balance_after >= 0),
  reason          TEXT        NOT NULL,
  actor_user_id   BIGINT,
  idempotency_key UUID        UNIQUE,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX balance_grants_user_created_idx ON balance_grants (user_id, created_at);

COMMENT ON TABLE balance_grants IS 'Admin credits (amount > 0) and debits (amount < 0) of users.balance, in money units.';
COMMENT ON COLUMN balance_grants.amount IS 'Signed change in money units (1 unit = 0.000001 credit).';
COMMENT ON COLUMN balance_grants.balance_after IS 'users.balance right after this grant, returned again on an idempotent repeat.';
COMMENT ON COLUMN balance_grants.actor_user_id IS 'The admin who granted (no foreign key, like audit_log).';
COMMENT ON COLUMN balance_grants.idempotency_key IS 'Caller-chosen key; a repeated grant with the same key is applied once.';
