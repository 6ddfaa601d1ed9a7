-- allclear serve, schema 1. Times are Unix seconds (UTC), given by the server's clock.

CREATE TABLE users (
    id               INTEGER PRIMARY KEY,
    username         TEXT    NOT NULL UNIQUE,
    -- PHC string (Argon2id); NULL until the invitation is accepted.
    password_hash    TEXT,
    -- Base32 TOTP secret; NULL until the second factor is enrolled.
    totp_secret      TEXT,
    -- The last TOTP time step accepted: a code is never accepted twice.
    totp_last_step   INTEGER NOT NULL DEFAULT 0,
    is_admin         INTEGER NOT NULL DEFAULT 0,
    active           INTEGER NOT NULL DEFAULT 1,
    failed_attempts  INTEGER NOT NULL DEFAULT 0,
    locked_until     INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
    user_id    INTEGER NOT NULL REFERENCES users(id),
    code_hash  TEXT    NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;

-- One-time links: the owner's setup (user_id NULL) and invitations. Only a hash is stored.
CREATE TABLE invites (
    token_hash  TEXT    PRIMARY KEY,
    user_id     INTEGER REFERENCES users(id),
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Sessions by the hash of their cookie value; stage is 'second-factor', 'enrol' or 'full'.
CREATE TABLE sessions (
    id_hash     TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    stage       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE memberships (
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    role        TEXT    NOT NULL,
    PRIMARY KEY (project_id, user_id)
) WITHOUT ROWID;

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES projects(id),
    name          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    created_by    INTEGER NOT NULL REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);

CREATE TABLE reports (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES projects(id),
    source       TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    findings     INTEGER NOT NULL,
    -- 1 when the scan reported errors: parts went unchecked, so nothing is marked fixed.
    partial      INTEGER NOT NULL
);

-- One row per (project, source, fingerprint): the de-duplicated finding and its state.
CREATE TABLE findings (
    id             INTEGER PRIMARY KEY,
    project_id     INTEGER NOT NULL REFERENCES projects(id),
    source         TEXT    NOT NULL,
    fingerprint    TEXT    NOT NULL,
    rule           TEXT    NOT NULL,
    severity       TEXT    NOT NULL,
    severity_rank  INTEGER NOT NULL,
    title          TEXT    NOT NULL,
    path           TEXT    NOT NULL,
    line           INTEGER,
    -- The finding as the scan reported it (JSON), for its page.
    data           TEXT    NOT NULL,
    first_seen     INTEGER NOT NULL,
    last_seen      INTEGER NOT NULL,
    last_report    INTEGER NOT NULL,
    -- NULL while open.
    fixed_at       INTEGER,
    UNIQUE (project_id, source, fingerprint)
);
-- Keyset pagination of a project's open findings, worst first.
CREATE INDEX findings_open ON findings(project_id, severity_rank DESC, id DESC) WHERE fixed_at IS NULL;

CREATE TABLE finding_events (
    id          INTEGER PRIMARY KEY,
    finding_id  INTEGER NOT NULL REFERENCES findings(id),
    at          INTEGER NOT NULL,
    -- 'first-seen', 'fixed' or 'reopened'
    kind        TEXT    NOT NULL,
    report_id   INTEGER NOT NULL REFERENCES reports(id)
);
CREATE INDEX finding_events_finding ON finding_events(finding_id, id);

-- Append-only and hash-chained: hash = BLAKE3(prev_hash || canonical JSON of the entry).
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    ip         TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;
