-- The model registry of llmserver: the original `models` table extended additively with what downloading,
-- verifying and loading a GGUF file needs. The original columns keep their meaning; every new column is
-- nullable or has a default, so rows written before this migration stay valid (status 'registered').

ALTER TABLE models
  ADD COLUMN file_path    TEXT,
  ADD COLUMN size_bytes   BIGINT      CONSTRAINT models_size_bytes_non_negative CHECK (size_bytes >= 0),
  ADD COLUMN sha256       TEXT        CONSTRAINT models_sha256_hex CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  ADD COLUMN quantization TEXT        CONSTRAINT models_quantization_length CHECK (char_length(quantization) <= 32),
  ADD COLUMN parameters   BIGINT      CONSTRAINT models_parameters_non_negative CHECK (parameters >= 0),
  ADD COLUMN status       TEXT        NOT NULL DEFAULT 'registered'
                          CONSTRAINT models_status_check
                          CHECK (status IN ('registered', 'downloading', 'ready', 'loading', 'loaded', 'failed')),
  ADD COLUMN error        TEXT        CONSTRAINT models_error_length CHECK (char_length(error) <= 1000),
  ADD COLUMN updated_at   TIMESTAMPTZ NOT NULL DEFAULT now();

COMMENT ON COLUMN models.file_path IS 'Absolute path of the verified GGUF file; NULL until a download completes or after models.delete.';
COMMENT ON COLUMN models.size_bytes IS 'Size of the GGUF file in bytes: as registered until downloaded, then as measured.';
COMMENT ON COLUMN models.sha256 IS
  'sha256 of the GGUF file, lowercase hex: the expected value when registered with one (a download that differs '
  'is refused), the verified value of the downloaded file afterwards.';
COMMENT ON COLUMN models.quantization IS 'Quantization of the weights as the registering admin named it, e.g. Q4_K_M.';
COMMENT ON COLUMN models.parameters IS 'Parameter count, when known.';
COMMENT ON COLUMN models.status IS
  'registered: no verified file (a partial download may exist and resumes); downloading; ready: verified file on '
  'disk; loading; loaded: serving requests; failed: the last download was refused (see error).';
COMMENT ON COLUMN models.error IS 'Why the last download or load failed; NULL after a success.';
COMMENT ON COLUMN models.updated_at IS 'Last change of the row (status, file, error).';
