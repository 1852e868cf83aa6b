-- What the usage sink needs besides tokens_used: a record of charges the balance could not cover, and a place
-- for llm.usage messages that are not valid events. Both are part of the ledger: rows are only inserted.

-- Usage beyond the balance. llmserver reserves the worst-case cost before generating, so this should not happen;
-- if it does (a reservation cache lost, a price raised mid-flight) the sink still records every tokens_used row in
-- full, takes the balance to 0 (never below: users_balance_non_negative) and writes the uncovered rest here, so
-- no charge is lost and an operator can see and settle the debt.
CREATE TABLE usage_shortfalls (
  id         BIGSERIAL   PRIMARY KEY,
  user_id    BIGINT      NOT NULL REFERENCES users (id),
  charged    BIGINT      NOT NULL CONSTRAINT usage_shortfalls_charged_positive CHECK (charged > 0),
  shortfall  BIGINT      NOT NULL CONSTRAINT usage_shortfalls_shortfall_positive CHECK (shortfall > 0),
  event_ids  UUID[]      NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT usage_shortfalls_within_charge CHECK (shortfall <= charged)
);

CREATE INDEX usage_shortfalls_user_idx ON usage_shortfalls (user_id, created_at);

COMMENT ON TABLE usage_shortfalls IS 'Usage the balance could not cover: balance went to 0 and this much stayed unpaid (money units).';
COMMENT ON COLUMN usage_shortfalls.charged IS 'Sum of the costs of the batch''s new tokens_used rows for this user.';
COMMENT ON COLUMN usage_shortfalls.shortfall IS 'Part of charged not debited because the balance reached 0.';
COMMENT ON COLUMN usage_shortfalls.event_ids IS 'The usage events of that charge.';

-- Messages of llm.usage the sink could not book: not a valid event, or naming a user or model that does not exist.
-- Unique on the Kafka position so a redelivered message is parked once.
CREATE TABLE usage_dead_letters (
  id           BIGSERIAL   PRIMARY KEY,
  topic        TEXT        NOT NULL,
  partition    INTEGER     NOT NULL,
  kafka_offset BIGINT      NOT NULL,
  message_key  TEXT,
  payload      TEXT,
  error        TEXT        NOT NULL,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT usage_dead_letters_position_key UNIQUE (topic, partition, kafka_offset)
);

COMMENT ON TABLE usage_dead_letters IS 'llm.usage messages the sink parked instead of booking; an operator repairs and replays them.';
COMMENT ON COLUMN usage_dead_letters.payload IS 'The message value as UTF-8 (at most 64 KiB).';
