"""Persistence: the audit trail of hook and explain calls, CDS Hooks feedback, and the plan's
prior authorization records, on SQLite (embedded default, WAL) or PostgreSQL.

Public API (stable; see README.md, section Persistence):
- `Store` (`Store.from_settings(settings)`, `migrate`, `health`, `record_call`, `list_calls`,
  `record_feedback`, `list_feedback`, `current_authorization`, `previous_authorizations`,
  `list_authorizations`, `issue_authorization`, `import_authorizations`, `member_ref`,
  `patient_hash`)
- `StoreUnavailable`: the only exception the hook-path methods raise for database trouble
- `AuditEntry`, `RecordedCall`, `Authorization`, `FeedbackRecord`, `ImportResult`: plain records
- `patient_hash(key, id)`, `member_ref(key, id)`, `load_hash_key(configured, var_dir)`
- `InvalidFeedback`, `AuthorizationImportError`: bad input (both ValueError)
- `DocumentationStore(store)`, `DocumentationContext`: DTR contexts and completed questionnaires
- `commands.add_subcommands(subparsers, get_settings)`: the `audit`, `authorizations`, `db` CLI
"""

from .authorization_files import AuthorizationImportError
from .pseudonyms import HashKeyError, load_hash_key, member_ref, patient_hash
from .records import AuditEntry, Authorization, FeedbackRecord, ImportResult, RecordedCall
from .store import (
    InvalidFeedback,
    Store,
    StoreUnavailable,
    database_url_from_settings,
    normalize_database_url,
)
from .documentation import DocumentationContext, DocumentationStore   # (its tables join the models' metadata)

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
