"""Insert a row once: the one way Hark writes a row that may already be there.

One `INSERT ... ON CONFLICT DO NOTHING`, not a savepoint around an INSERT: on SQLite, pysqlite opens a
transaction only at the first INSERT, UPDATE or DELETE, so a savepoint that came first would open one of its
own and its release would commit the row at once, whatever the rest of the transaction then does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from store.models import Base


def insert_new(
    session: so.Session, model: type[Base], values: Mapping[str, Any], *, unique: Sequence[str]
) -> bool:
    """Insert the row unless one with the same `unique` columns exists, in the caller's transaction; True
    when it was inserted."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    key = model.__mapper__.primary_key[0]
    stmt = insert(model).values(**values).on_conflict_do_nothing(index_elements=list(unique)).returning(key)
    return session.scalar(stmt) is not None
