"""Persistence: the audit trail of hook and explain calls, CDS Hooks feedback, and the plan's
prior authorization records, on SQLite (embedded default, WAL) or PostgreSQL.

Public surface (stable; everything in `__all__`, importable from `cds_service.store`):
- `Store`: the one object callers use (`Store.from_settings(settings)`, `ensure_schema`, `migrate`,
  `health`, `warm_up`, `record_call`, `list_calls`, `record_feedback`, `list_feedback`,
  `current_authorization`, `previous_authorizations`, `list_authorizations`, `issue_authorization`,
  `import_authorizations`, `member_ref`, `patient_hash`). Its hook-path methods raise only
  `StoreUnavailable` for database trouble.
- `StoreUnavailable`: the database cannot be used now (`reason` is safe to log).
- `InvalidFeedback`, `AuthorizationImportError`: bad input (both ValueError).
- `AuditEntry` (what `record_call` takes), `RecordedCall`, `Authorization`, `FeedbackRecord`,
  `ImportResult`: plain frozen dataclasses; no SQLAlchemy object leaves the package.
- `patient_hash(key, id)`, `member_ref(key, id)`, `load_hash_key(configured, var_dir)`, `HashKeyError`:
  keyed pseudonyms, so that no patient or member id is stored.
- `normalize_database_url`, `database_url_from_settings`: DATABASE_URL -> SQLAlchemy URL.
- `DocumentationStore(store)`, `DocumentationContext`: DTR contexts and completed questionnaires
  (tables `documentation_contexts`, `documentation_responses`, migration 0003; module `documentation`).

Also used from outside, by module: `store.spool.AuditSpool` (audit rows kept on disk while the
database is down), `store.commands.add_subcommands` (the `audit`, `authorizations`, `db` CLI),
`store.models` (the table models, for tests and migrations).

Inside (not for callers): `engine` (connections), `schema` / `migration_runner` (revisions,
migrations), `audit`, `feedback`, `authorizations` (one concern each, called by `Store`),
`sqlite_fast_path`, `json_columns`, `redaction`, `authorization_files`.
"""

from .authorization_files import AuthorizationImportError
from .documentation import DocumentationContext, DocumentationStore  # (its tables join the models' metadata)
from .engine import StoreUnavailable, database_url_from_settings, normalize_database_url
from .feedback import InvalidFeedback
from .pseudonyms import HashKeyError, load_hash_key, member_ref, patient_hash
from .public_types import AuditEntry, Authorization, FeedbackRecord, ImportResult, RecordedCall
from .store import Store

__all__ = [
    "AuditEntry",
    "Authorization",
    "AuthorizationImportError",
    "DocumentationContext",
    "DocumentationStore",
    "FeedbackRecord",
    "HashKeyError",
    "ImportResult",
    "InvalidFeedback",
    "RecordedCall",
    "Store",
    "StoreUnavailable",
    "database_url_from_settings",
    "load_hash_key",
    "member_ref",
    "normalize_database_url",
    "patient_hash",
]
