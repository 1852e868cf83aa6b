-- The coding agent (issue 7): chat sessions bound to a project, their turns, the event log each turn streams
-- (one per-session sequence, so a client that lost its connection reattaches after the last seq it saw), and the
-- file edits the agent proposed, kept here until the user decides. Money is integer micro-credits, like users.balance.

CREATE TABLE agent_sessions (
  id                UUID        PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id        UUID        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  user_id           BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title             TEXT        NOT NULL CONSTRAINT agent_sessions_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
  model             TEXT        NOT NULL CONSTRAINT agent_sessions_model_length CHECK (char_length(model) BETWEEN 1 AND 200),
  auto_apply        BOOLEAN     NOT NULL DEFAULT false,
  status            TEXT        NOT NULL DEFAULT 'idle' CONSTRAINT agent_sessions_status_check CHECK (status IN ('idle', 'running')),
  turns             INTEGER     NOT NULL DEFAULT 0 CONSTRAINT agent_sessions_turns_non_negative CHECK (turns >= 0),
  next_seq          BIGINT      NOT NULL DEFAULT 0 CONSTRAINT agent_sessions_next_seq_non_negative CHECK (next_seq >= 0),
  prompt_tokens     BIGINT      NOT NULL DEFAULT 0 CONSTRAINT agent_sessions_prompt_non_negative CHECK (prompt_tokens >= 0),
  completion_tokens BIGINT      NOT NULL DEFAULT 0 CONSTRAINT agent_sessions_completion_non_negative CHECK (completion_tokens >= 0),
  cost              BIGINT      NOT NULL DEFAULT 0 CONSTRAINT agent_sessions_cost_non_negative CHECK (cost >= 0),
  created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX agent_sessions_user_updated_idx ON agent_sessions (user_id, updated_at DESC, id DESC);
CREATE INDEX agent_sessions_project_idx ON agent_sessions (project_id);
COMMENT ON COLUMN agent_sessions.next_seq IS 'Seq the next agent_events row of this session gets.';
COMMENT ON COLUMN agent_sessions.cost IS 'Cost of every turn, micro-credits (the ledger in tokens_used is the truth).';

CREATE TABLE agent_turns (
  id                UUID        PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id        UUID        NOT NULL REFERENCES agent_sessions (id) ON DELETE CASCADE,
  message           TEXT        NOT NULL,
  finish_reason     TEXT        CONSTRAINT agent_turns_finish_reason_check
                                CHECK (finish_reason IN ('answered', 'stepLimit', 'cancelled', 'budgetExceeded', 'error')),
  answer            TEXT,
  steps             INTEGER     NOT NULL DEFAULT 0 CONSTRAINT agent_turns_steps_non_negative CHECK (steps >= 0),
  prompt_tokens     BIGINT      NOT NULL DEFAULT 0 CONSTRAINT agent_turns_prompt_non_negative CHECK (prompt_tokens >= 0),
  completion_tokens BIGINT      NOT NULL DEFAULT 0 CONSTRAINT agent_turns_completion_non_negative CHECK (completion_tokens >= 0),
  cost              BIGINT      NOT NULL DEFAULT 0 CONSTRAINT agent_turns_cost_non_negative CHECK (cost >= 0),
  llm_event_ids     UUID[]      NOT NULL DEFAULT '{}',
  started_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
  finished_at       TIMESTAMPTZ
);
CREATE INDEX agent_turns_session_idx ON agent_turns (session_id, started_at);
COMMENT ON COLUMN agent_turns.llm_event_ids IS 'Usage event ids of the model calls of the turn (tokens_used.event_id).';

CREATE TABLE agent_events (
  session_id UUID        NOT NULL REFERENCES agent_sessions (id) ON DELETE CASCADE,
  seq        BIGINT      NOT NULL CONSTRAINT agent_events_seq_non_negative CHECK (seq >= 0),
  turn_id    UUID        NOT NULL REFERENCES agent_turns (id) ON DELETE CASCADE,
  event      JSONB       NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (session_id, seq)
);
COMMENT ON COLUMN agent_events.event IS 'The AgentEvent exactly as streamed (contract agent.ts).';

CREATE TABLE agent_edits (
  id           UUID        PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id   UUID        NOT NULL REFERENCES agent_sessions (id) ON DELETE CASCADE,
  turn_id      UUID        NOT NULL REFERENCES agent_turns (id) ON DELETE CASCADE,
  path         TEXT        NOT NULL,
  operation    TEXT        NOT NULL CONSTRAINT agent_edits_operation_check
                           CHECK (operation IN ('create', 'replaceRange', 'searchReplace', 'delete')),
  diff         TEXT        NOT NULL,
  base_version TEXT,
  new_content  TEXT,
  status       TEXT        NOT NULL DEFAULT 'pending' CONSTRAINT agent_edits_status_check
                           CHECK (status IN ('pending', 'applied', 'rejected', 'conflict')),
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  decided_at   TIMESTAMPTZ,
  decided_by   BIGINT      REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX agent_edits_session_idx ON agent_edits (session_id, created_at);
COMMENT ON COLUMN agent_edits.base_version IS 'fs version the edit was computed against; NULL = the file did not exist.';
COMMENT ON COLUMN agent_edits.new_content IS 'Whole new file content (utf8) written on accept; NULL for delete.';
COMMENT ON COLUMN agent_edits.decided_by IS 'Who accepted or rejected; NULL while pending or when auto-applied.';
