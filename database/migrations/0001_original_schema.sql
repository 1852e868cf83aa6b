-- The original plan's three tables, kept as the floor of the schema: later migrations only add to them.
--
-- Money is integer arithmetic only. One money unit is one millionth of a credit (a micro-credit), so a price
-- of 0.000002 credits per token is 2 units. BIGINT holds up to 9.2e18 units; the application keeps values
-- within JavaScript's safe integers (2^53 - 1, about 9 billion credits) and @cyber/db refuses to read more.

CREATE TABLE users (
  id            BIGSERIAL PRIMARY KEY,
  username      TEXT        NOT NULL UNIQUE,
  password_hash TEXT        NOT NULL,
  role          TEXT        NOT NULL DEFAULT 'viewer'
                CONSTRAINT users_role_check CHECK (role IN ('admin', 'developer', 'viewer')),
  api_key_hash  TEXT        UNIQUE,
  balance       BIGINT      NOT NULL DEFAULT 0
                CONSTRAINT users_balance_non_negative CHECK (balance >= 0),
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

COMMENT ON TABLE users IS 'Accounts of CyberDevStudio; roles admin, developer, viewer.';
COMMENT ON COLUMN users.password_hash IS 'argon2id hash in PHC string format.';
COMMENT ON COLUMN users.api_key_hash IS 'Hash of the user''s API key (X-Cyber-Token); the key itself is never stored.';
COMMENT ON COLUMN users.balance IS 'Spendable budget in money units: 1 unit = 0.000001 credit (one micro-credit). Never negative.';

CREATE TABLE models (
  id             BIGSERIAL PRIMARY KEY,
  name           TEXT        NOT NULL UNIQUE,
  context_size   INTEGER     NOT NULL CONSTRAINT models_context_size_positive CHECK (context_size > 0),
  cost_per_token BIGINT      NOT NULL DEFAULT 0
                 CONSTRAINT models_cost_per_token_non_negative CHECK (cost_per_token >= 0),
  source_url     TEXT,
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

COMMENT ON TABLE models IS 'Local GGUF models that llmserver can serve.';
COMMENT ON COLUMN models.context_size IS 'Context window in tokens; prompt tokens plus max_tokens must fit in it.';
COMMENT ON COLUMN models.cost_per_token IS 'Price of one prompt or completion token in money units (1 unit = 0.000001 credit).';
COMMENT ON COLUMN models.source_url IS 'Where the model file is downloaded from; NULL for a file placed by hand.';

-- The usage ledger. Rows reference users and models without ON DELETE CASCADE: a charge must never
-- disappear, so accounts and models with usage are disabled rather than deleted.
CREATE TABLE tokens_used (
  id                BIGSERIAL PRIMARY KEY,
  event_id          UUID        NOT NULL UNIQUE,
  user_id           BIGINT      NOT NULL REFERENCES users (id),
  model_id          BIGINT      NOT NULL REFERENCES models (id),
  prompt_tokens     INTEGER     NOT NULL CONSTRAINT tokens_used_prompt_tokens_non_negative CHECK (prompt_tokens >= 0),
  completion_tokens INTEGER     NOT NULL
                    CONSTRAINT tokens_used_completion_tokens_non_negative CHECK (completion_tokens >= 0),
  cost              BIGINT      NOT NULL CONSTRAINT tokens_used_cost_non_negative CHECK (cost >= 0),
  trace_id          TEXT,
  created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

COMMENT ON TABLE tokens_used IS 'One row per llm.usage event; the sum of cost per user is what was debited from users.balance.';
COMMENT ON COLUMN tokens_used.event_id IS 'Id of the usage event; unique so that a redelivered event inserts nothing.';
COMMENT ON COLUMN tokens_used.cost IS 'Charge for this request in money units (1 unit = 0.000001 credit).';
COMMENT ON COLUMN tokens_used.trace_id IS 'OpenTelemetry trace id of the request that generated the tokens.';

-- usage.summary groups by user or model and day.
CREATE INDEX tokens_used_user_created_idx ON tokens_used (user_id, created_at);
CREATE INDEX tokens_used_model_created_idx ON tokens_used (model_id, created_at);
