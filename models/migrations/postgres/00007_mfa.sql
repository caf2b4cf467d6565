-- Two factors: a TOTP secret per user (encrypted with a key derived from
-- the signing key, so a dump alone cannot mint codes), the last accepted
-- time step (a code is never accepted twice), and single-use recovery
-- codes stored as SHA-256 digests. (Numbered after 00006, which main
-- released first: goose refuses a migration older than the newest applied.)

-- +goose Up
ALTER TABLE users ADD COLUMN IF NOT EXISTS totp_secret character varying(200) DEFAULT '' NOT NULL;
ALTER TABLE users ADD COLUMN IF NOT EXISTS totp_enabled_at timestamp with time zone;
ALTER TABLE users ADD COLUMN IF NOT EXISTS totp_last_step bigint DEFAULT 0 NOT NULL;

CREATE TABLE IF NOT EXISTS recovery_codes (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL,
    code_hash character varying(64) NOT NULL,
    used_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT fk_recovery_codes_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_recovery_codes_code ON recovery_codes (user_id, code_hash);
