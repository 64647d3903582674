/**
 * Numbered schema migrations. Each runs once, in order, inside a transaction;
 * PRAGMA user_version records the last one applied. Never edit a shipped
 * migration: add the next number.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the credential model
  `
  -- AUTOINCREMENT everywhere: a cached proof names a credential id, and an id
  -- reused after a delete could make an old password prove a new credential
  CREATE TABLE address (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    address     TEXT NOT NULL UNIQUE,
    salt        BLOB NOT NULL,
    generation  INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    created_by  TEXT
  ) STRICT;

  CREATE TABLE device (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    address_id          INTEGER NOT NULL REFERENCES address(id) ON DELETE CASCADE,
    kind                TEXT NOT NULL CHECK (kind IN ('device', 'generic')),
    name                TEXT NOT NULL,
    user                TEXT,
    scopes              TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('active', 'revoked')),
    created_at          INTEGER NOT NULL,
    created_by          TEXT,
    expires_at          INTEGER,
    revoked_at          INTEGER,
    last_used_at        INTEGER,
    last_used_protocol  TEXT,
    last_used_ip        TEXT,
    last_used_client    TEXT
  ) STRICT;
  CREATE INDEX device_by_address ON device(address_id);
  -- one generic per address, ever: a revoked one stays as the marker that it was revoked for good
  CREATE UNIQUE INDEX device_one_generic ON device(address_id) WHERE kind = 'generic';

  CREATE TABLE credential (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    address_id     INTEGER NOT NULL REFERENCES address(id) ON DELETE CASCADE,
    device_id      INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,
    digest         BLOB,
    params         TEXT,
    legacy_scheme  TEXT,
    legacy_hash    TEXT,
    state          TEXT NOT NULL CHECK (state IN ('active', 'reset-away', 'revoked')),
    created_at     INTEGER NOT NULL,
    retired_at     INTEGER
  ) STRICT;
  CREATE INDEX credential_by_digest ON credential(address_id, digest);
  CREATE INDEX credential_by_device ON credential(device_id);

  CREATE TABLE event (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    last_at      INTEGER NOT NULL,
    count        INTEGER NOT NULL DEFAULT 1,
    type         TEXT NOT NULL,
    address      TEXT,
    device_id    INTEGER,
    device_name  TEXT,
    reason       TEXT,
    protocol     TEXT,
    ip           TEXT,
    client       TEXT,
    actor        TEXT,
    detail       TEXT
  ) STRICT;
  CREATE INDEX event_by_address ON event(address, at);
  CREATE INDEX event_by_time ON event(at);

  -- append-only journal other processes tail to cut the sessions they hold
  CREATE TABLE revocation (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    address    TEXT NOT NULL,
    device_id  INTEGER,
    reason     TEXT NOT NULL
  ) STRICT;
  `,
  // 2: failure aggregates: one row per (window, address, reason, device), updated in place by later batches
  `
  ALTER TABLE event ADD COLUMN window_key TEXT;
  CREATE UNIQUE INDEX event_by_window ON event(window_key) WHERE window_key IS NOT NULL;
  `,
  // 3: invitations: a one-time link that lets the address's owner create one device themselves
  `
  CREATE TABLE invitation (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    address_id      INTEGER NOT NULL REFERENCES address(id) ON DELETE CASCADE,
    -- SHA-256 of the link's token: the token itself is never stored
    token_hash      BLOB NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    user            TEXT,
    scopes          TEXT NOT NULL,
    -- the device's expiry as the administrator wrote it ("7d" counts from the day of use), or null
    device_expires  TEXT,
    state           TEXT NOT NULL CHECK (state IN ('open', 'used', 'revoked')),
    created_at      INTEGER NOT NULL,
    created_by      TEXT,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER,
    used_ip         TEXT,
    device_id       INTEGER,
    revoked_at      INTEGER
  ) STRICT;
  CREATE INDEX invitation_by_address ON invitation(address_id);
  `,
  // 4: the journal says whether a change ends sessions or only voids what other nodes read of the address
  // (PostgreSQL's migration 4 also adds the node leases; one SQLite file has no nodes to track)
  `
  ALTER TABLE revocation ADD COLUMN cuts INTEGER NOT NULL DEFAULT 1;
  `,
  // 5: the journal purge watermark, as in PostgreSQL's migration 5 (the highest seq a purge deleted); recorded
  // here too so both schemas stay one, though processes on one file read the journal every 50 ms and do not check it
  `
  CREATE TABLE journal_purged (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    through    INTEGER NOT NULL
  ) STRICT;
  INSERT INTO journal_purged (singleton, through) VALUES (1, 0);
  `,
];
