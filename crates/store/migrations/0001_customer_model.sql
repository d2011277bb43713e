-- The customer data model: partners, users, accounts and everything under them.
-- Dates are ISO 'YYYY-MM-DD' text, instants RFC 3339 UTC text: both sort as text.

CREATE TABLE partners (
    id          INTEGER PRIMARY KEY,
    external_id TEXT UNIQUE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'leader', 'csm', 'partner', 'viewer')),
    partner_id    INTEGER REFERENCES partners(id) ON DELETE RESTRICT,
    password_hash TEXT,
    locale        TEXT,
    created_at    TEXT NOT NULL,
    CHECK ((role = 'partner') = (partner_id IS NOT NULL))
);

CREATE TABLE custom_fields (
    key     TEXT PRIMARY KEY,
    label   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY,
    external_id    TEXT UNIQUE,
    name           TEXT NOT NULL,
    parent_id      INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    plan           TEXT,
    mrr            REAL NOT NULL DEFAULT 0 CHECK (mrr >= 0),
    currency       TEXT NOT NULL DEFAULT 'USD',
    contract_start TEXT,
    contract_end   TEXT,
    renewal_date   TEXT,
    owner_id       INTEGER REFERENCES users(id) ON DELETE SET NULL,
    partner_id     INTEGER REFERENCES partners(id) ON DELETE RESTRICT,
    stage          TEXT,
    tier           TEXT,
    custom_fields  TEXT NOT NULL DEFAULT '{}',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX accounts_name ON accounts(name, id);
CREATE INDEX accounts_mrr ON accounts(mrr, id);
CREATE INDEX accounts_renewal ON accounts(COALESCE(renewal_date, '9999-12-31'), id);
CREATE INDEX accounts_updated ON accounts(updated_at, id);
CREATE INDEX accounts_partner ON accounts(partner_id, name, id);
CREATE INDEX accounts_owner ON accounts(owner_id, name, id);
CREATE INDEX accounts_stage ON accounts(stage, name, id);
CREATE INDEX accounts_tier ON accounts(tier, name, id);
CREATE INDEX accounts_plan ON accounts(plan, name, id);
CREATE INDEX accounts_parent ON accounts(parent_id);

CREATE TABLE contacts (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    external_id      TEXT UNIQUE,
    name             TEXT NOT NULL,
    email            TEXT,
    role             TEXT,
    title            TEXT,
    personal_success TEXT,
    sentiment        TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX contacts_account ON contacts(account_id, id);
CREATE INDEX contacts_email ON contacts(email);

CREATE TABLE subscriptions (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    external_id TEXT UNIQUE,
    plan        TEXT NOT NULL,
    quantity    INTEGER NOT NULL CHECK (quantity >= 0),
    mrr         REAL NOT NULL CHECK (mrr >= 0),
    start_date  TEXT NOT NULL,
    end_date    TEXT CHECK (end_date IS NULL OR end_date > start_date),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX subscriptions_account ON subscriptions(account_id, start_date);

-- Every change to a subscription row keeps the version it replaced.
CREATE TABLE subscription_versions (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    replaced_at     TEXT NOT NULL,
    replaced_by     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    plan            TEXT NOT NULL,
    quantity        INTEGER NOT NULL,
    mrr             REAL NOT NULL,
    start_date      TEXT NOT NULL,
    end_date        TEXT
);

CREATE TABLE touchpoints (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    user_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    summary     TEXT,
    attendees   TEXT NOT NULL DEFAULT '[]',
    created_at  TEXT NOT NULL
);
-- The same touchpoint recorded twice is kept once, so imports are idempotent.
CREATE UNIQUE INDEX touchpoints_natural_key ON touchpoints(account_id, kind, occurred_at, COALESCE(summary, ''));
CREATE INDEX touchpoints_account ON touchpoints(account_id, occurred_at);

CREATE TABLE segments (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    filter      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    user_id      INTEGER REFERENCES users(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
