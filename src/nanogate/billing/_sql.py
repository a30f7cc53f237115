"""Every SQL statement on the money tables, in one place.

The money tables are ``accounts``, ``ledger``, ``reservations``, ``leases``,
``usage_daily``, the per-second log (``rate_seq``, ``rate_log``), ``instances`` and
``idempotency``. Nothing else in nanogate reads or writes them: the scripts in
:mod:`nanogate.billing._scripts` and :mod:`nanogate.billing._book` compose these
statements, and a driver (:mod:`nanogate.storage._fast`) runs them, on SQLite or
PostgreSQL alike (``:named`` parameters, SQL both understand). The schema itself is
the migrations'.
"""

from __future__ import annotations

from nanogate.billing._escrow import REQUESTS, USD

SEQ_ADD = """
INSERT INTO rate_seq (subject, seq) VALUES (:subject, :n)
ON CONFLICT (subject) DO UPDATE SET seq = rate_seq.seq + :n
RETURNING seq"""

SLOTS_READ = """
SELECT slot, at_us FROM rate_log
WHERE subject = :subject AND (slot BETWEEN :lo AND :hi OR slot BETWEEN :wrap_lo AND :wrap_hi)"""

SLOT_WRITE = """
INSERT INTO rate_log (subject, slot, at_us) VALUES (:subject, :slot, :now)
ON CONFLICT (subject, slot) DO UPDATE SET at_us = :now"""

LEDGER = """
INSERT INTO ledger
    (account_id, kind, amount_nusd, hold_nusd, request_id, key_id, model, created_at, note)
VALUES (:account, :kind, :amount, :hold, :request, :key, :model, :now, :note)"""

UNRESERVE = "DELETE FROM reservations WHERE request_id = :request RETURNING amount_nusd"

SETTLED = """
SELECT 1 FROM ledger WHERE request_id = :request AND kind IN ('settlement', 'release')"""

DAILY_ROW = "SELECT usd_nusd FROM usage_daily WHERE subject = :subject AND day = :day"

ACCOUNT = "SELECT balance_nusd, reserved_nusd FROM accounts WHERE id = :account"

DEBIT = """
UPDATE accounts SET balance_nusd = balance_nusd - :charge, reserved_nusd = reserved_nusd - :held
WHERE id = :account"""

ADJUST_DAILY = """
UPDATE usage_daily SET usd_nusd = usd_nusd + :delta WHERE subject = :subject AND day = :day"""

LEASE_LOCK = """
SELECT amount FROM leases
WHERE owner = :owner AND kind = :kind AND subject = :subject AND day = :day"""

LEASE_GROW = """
INSERT INTO leases (owner, kind, subject, day, amount)
VALUES (:owner, :kind, :subject, :day, :amount)
ON CONFLICT (owner, kind, subject, day) DO UPDATE SET amount = leases.amount + :amount"""

LEASE_SHRINK = """
UPDATE leases SET amount = amount - :amount
WHERE owner = :owner AND kind = :kind AND subject = :subject AND day = :day
    AND amount >= :amount"""

LEASES_OF = "SELECT kind, subject, day, amount FROM leases WHERE owner = :owner"

LEASES_EMPTY = "DELETE FROM leases WHERE owner = :owner AND amount <= 0"

LEASES_FORGET = "DELETE FROM leases WHERE owner = :owner"

DAILY_START = """
INSERT INTO usage_daily (subject, day, requests, usd_nusd) VALUES (:subject, :day, 0, 0)
ON CONFLICT (subject, day) DO NOTHING"""

DAILY_COUNTS = "SELECT requests, usd_nusd FROM usage_daily WHERE subject = :subject AND day = :day"

DAILY_ADD = {
    REQUESTS: "UPDATE usage_daily SET requests = requests + :amount"
    " WHERE subject = :subject AND day = :day",
    USD: "UPDATE usage_daily SET usd_nusd = usd_nusd + :amount"
    " WHERE subject = :subject AND day = :day",
}

RESERVE_MORE = "UPDATE accounts SET reserved_nusd = reserved_nusd + :amount WHERE id = :account"

PAY = """
UPDATE accounts SET balance_nusd = balance_nusd - :charge, reserved_nusd = reserved_nusd - :lease
WHERE id = :account"""

SETTLED_CHARGE = """
SELECT -amount_nusd FROM ledger WHERE request_id = :request AND kind = 'settlement'"""

INSTANCES = """
SELECT id, hostname, pid, CASE WHEN heartbeat_at < :stale THEN 1 ELSE 0 END FROM instances"""

OWNERS = "SELECT DISTINCT owner FROM reservations UNION SELECT DISTINCT owner FROM leases"

HEARTBEAT = """
INSERT INTO instances (id, hostname, pid, started_at, heartbeat_at)
VALUES (:id, :hostname, :pid, :now, :now)
ON CONFLICT (id) DO UPDATE SET heartbeat_at = :now"""

RESERVATIONS_OF = """
SELECT request_id, account_id, key_id, subject, counted, model, amount_nusd, day
FROM reservations WHERE owner = :owner"""

FORGET_INSTANCE = "DELETE FROM instances WHERE id = :id"

SWEEP = (
    "DELETE FROM rate_log WHERE at_us < :before_us",
    "DELETE FROM usage_daily WHERE day < :day",
    "DELETE FROM idempotency WHERE created_at < :expired",
)

IDEM_CLAIM = """
INSERT INTO idempotency (key_id, idem_key, body_hash, request_id, state, created_at)
VALUES (:key, :idem, :hash, :request, 'running', :now)
ON CONFLICT (key_id, idem_key) DO NOTHING
RETURNING request_id"""

IDEM_READ = """
SELECT body_hash, request_id, state, status, headers, body,
       CASE WHEN created_at < :expired THEN 1 ELSE 0 END
FROM idempotency WHERE key_id = :key AND idem_key = :idem"""

IDEM_RECLAIM = """
UPDATE idempotency SET body_hash = :hash, request_id = :request, state = 'running',
    status = NULL, headers = NULL, body = NULL, created_at = :now
WHERE key_id = :key AND idem_key = :idem"""

IDEM_DONE = """
UPDATE idempotency SET state = 'done', status = :status, headers = :headers, body = :body
WHERE key_id = :key AND idem_key = :idem AND request_id = :request"""

IDEM_FORGET = """
DELETE FROM idempotency WHERE key_id = :key AND idem_key = :idem AND request_id = :request"""


# The account book: accounts, top-ups and what the ledger says of them -----------------

ACCOUNT_COLUMNS = "id, name, balance_nusd, created_at, reserved_nusd"
ACCOUNTS_COUNT = "SELECT COUNT(*) FROM accounts"
ACCOUNT_CREATE = """
INSERT INTO accounts (id, name, balance_nusd, reserved_nusd, created_at)
VALUES (:id, :name, :balance, 0, :now)"""
ACCOUNT_GET = f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = :account"
ACCOUNTS_PAGE = (
    f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE {{where}} "
    "ORDER BY created_at DESC, id DESC LIMIT :limit"
)
"""A page of accounts, newest first; ``where`` is built from fixed conditions only."""
ACCOUNT_MATCHES = "(id = :q OR LOWER(COALESCE(name, '')) LIKE :like ESCAPE '\\')"
TOPUP = f"""
UPDATE accounts SET balance_nusd = balance_nusd + :amount WHERE id = :account
RETURNING {ACCOUNT_COLUMNS}"""
AUDIT = """
SELECT balance_nusd, reserved_nusd,
    (SELECT COALESCE(SUM(amount_nusd), 0) FROM ledger WHERE account_id = :account),
    (SELECT COALESCE(SUM(hold_nusd), 0) FROM ledger WHERE account_id = :account),
    (SELECT COUNT(*) FROM reservations WHERE account_id = :account),
    (SELECT COUNT(*) FROM leases
        WHERE kind = 'balance' AND subject = :account AND amount > 0)
FROM accounts WHERE id = :account"""
LEDGER_OF = """
SELECT id, kind, amount_nusd, hold_nusd, request_id, key_id, model, created_at, note
FROM ledger WHERE account_id = :account ORDER BY id DESC LIMIT :limit"""
LEDGER_PAGE = """
SELECT id, kind, amount_nusd, hold_nusd, request_id, key_id, model, created_at, note
FROM ledger WHERE account_id = :account AND id < :before ORDER BY id DESC LIMIT :limit"""
CHARGED = """
SELECT key_id, MIN(created_at), COALESCE(-SUM(amount_nusd), 0)
FROM ledger WHERE request_id = :request GROUP BY key_id"""
