-- Projects, their members, and the sandbox runs made in them (the api gateway's tables).
--
-- Files live on disk under <data dir>/projects/<project id>; only metadata is here. Timestamps are stored at
-- millisecond precision (date_trunc) so that a value read into a JavaScript Date compares equal when it comes
-- back in a paging cursor: keyset pagination on (updated_at, id) then needs no text round trip.

CREATE TABLE projects (
  id          UUID        PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_id    BIGINT      NOT NULL REFERENCES users (id),
  name        TEXT        NOT NULL CONSTRAINT projects_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
  description TEXT        NOT NULL DEFAULT ''
              CONSTRAINT projects_description_length CHECK (char_length(description) <= 2000),
  size_bytes  BIGINT      NOT NULL DEFAULT 0 CONSTRAINT projects_size_non_negative CHECK (size_bytes >= 0),
  created_at  TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', now()),
  deleted_at  TIMESTAMPTZ
);

COMMENT ON TABLE projects IS 'A folder of files (on disk, named by id) plus metadata, owned by one user.';
COMMENT ON COLUMN projects.size_bytes IS 'Bytes the project''s files took when the gateway last measured them.';
COMMENT ON COLUMN projects.deleted_at IS 'Set when the project is deleted; such rows are invisible to every method.';

-- project.list: a user's own live projects, most recently updated first.
CREATE INDEX projects_owner_updated_idx ON projects (owner_id, updated_at DESC, id DESC) WHERE deleted_at IS NULL;

-- Members other than the owner. `access` uses the contract's words: write (edit and run) or read.
CREATE TABLE project_members (
  project_id UUID        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  access     TEXT        NOT NULL CONSTRAINT project_members_access_check CHECK (access IN ('write', 'read')),
  added_at   TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', now()),
  PRIMARY KEY (project_id, user_id)
);

COMMENT ON TABLE project_members IS 'Users a project is shared with; the owner is in projects.owner_id, never here.';

CREATE INDEX project_members_user_idx ON project_members (user_id);

-- One row per run.exec, inserted when the run starts and completed when it ends.
CREATE TABLE runs (
  id                UUID        PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id        UUID        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  user_id           BIGINT      NOT NULL REFERENCES users (id),
  language          TEXT        NOT NULL CONSTRAINT runs_language_check CHECK (language IN ('node', 'python', 'shell')),
  entry             TEXT,
  command           JSONB,
  status            TEXT        NOT NULL DEFAULT 'running'
                    CONSTRAINT runs_status_check CHECK (status IN ('running', 'finished')),
  verdict           TEXT
                    CONSTRAINT runs_verdict_check
                    CHECK (verdict IN ('ok', 'error', 'timeout', 'memory', 'output_limit', 'cancelled')),
  exit_code         INTEGER,
  signal            TEXT,
  wall_ms           BIGINT      CONSTRAINT runs_wall_ms_non_negative CHECK (wall_ms >= 0),
  cpu_ms            BIGINT      CONSTRAINT runs_cpu_ms_non_negative CHECK (cpu_ms >= 0),
  peak_memory_bytes BIGINT      CONSTRAINT runs_peak_memory_non_negative CHECK (peak_memory_bytes >= 0),
  stdout_bytes      BIGINT      CONSTRAINT runs_stdout_bytes_non_negative CHECK (stdout_bytes >= 0),
  stderr_bytes      BIGINT      CONSTRAINT runs_stderr_bytes_non_negative CHECK (stderr_bytes >= 0),
  stdout_truncated  BOOLEAN     NOT NULL DEFAULT false,
  stderr_truncated  BOOLEAN     NOT NULL DEFAULT false,
  created_at        TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', now()),
  finished_at       TIMESTAMPTZ,
  CONSTRAINT runs_entry_or_command CHECK ((entry IS NULL) <> (command IS NULL)),
  CONSTRAINT runs_finished_has_verdict CHECK ((status = 'finished') = (verdict IS NOT NULL))
);

COMMENT ON TABLE runs IS 'Sandbox runs (run.exec): who ran what in which project, and how it ended.';
COMMENT ON COLUMN runs.command IS 'argv as a JSON array of strings when the run gave a command instead of an entry file.';
COMMENT ON COLUMN runs.created_at IS 'When the run started.';

CREATE INDEX runs_project_created_idx ON runs (project_id, created_at DESC, id DESC);
CREATE INDEX runs_user_created_idx ON runs (user_id, created_at DESC, id DESC);
