"""`import_customers_csv`: idempotent, bad rows reported by line, a bad file never half-applied."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from hark.records import Author
from store.crm_import import import_customers_csv
from store.customers import CustomerFileError, resolve_identity
from store.db import Sessions
from store.models import AuditLogRow, CustomerRow, IdentityRow, MentionRow
from tests.conftest import REPO

HEADER = "name,email,phone,segment,tier,lifetime_value,external_crm_id,x_handle,reddit_username\n"


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "crm.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def customer_count(sessions: Sessions) -> int:
    with sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(CustomerRow)) or 0


def test_the_sample_imports_once_and_a_second_import_changes_nothing(sessions: Sessions) -> None:
    with sessions.begin() as session:
        first = import_customers_csv(session, REPO / "samples" / "customers.csv")
    with sessions.begin() as session:
        second = import_customers_csv(session, REPO / "samples" / "customers.csv")
    assert (first.rows, first.created, first.updated, first.unchanged, first.rejected) == (25, 25, 0, 0, [])
    assert (second.created, second.updated, second.unchanged, second.rejected) == (0, 0, 25, [])
    with sessions() as session:
        handles = session.scalars(sa.select(IdentityRow.handle).order_by(IdentityRow.handle)).all()
        imports = session.scalars(
            sa.select(AuditLogRow).where(AuditLogRow.action == "customers_imported")
        ).all()
    assert "maria_rides" in handles
    assert len(imports) == 1  # an import that changed nothing leaves no audit entry


def test_bad_rows_are_rejected_with_line_and_reason_and_good_rows_applied(
    sessions: Sessions, tmp_path: Path
) -> None:
    rows = [
        "Ann A,ann@acme.example,,,VIP,100,C-1,ann_a,",  # line 2: fine
        "Bob B,bob@acme.example,,,,lots,C-2,,",  # 3: bad value
        '"Cy, C",cy@acme.example,,,,5,C-3,,',  # 4: quoted comma is fine
        "Di D,not-an-email,,,,,C-4,,",  # 5
        "Ed E,ed@acme.example,,,,,,,",  # 6: no CRM id
        "Fay F,fay@acme.example,,,,,C-1,,",  # 7: repeats C-1
        "Gus G,gus@acme.example,,,,,C-7,ANN_A,",  # 8: handle of line 2
        "Hal H,hal@acme.example,,,,,C-8,has space,",  # 9
        "Ivy I,ivy@acme.example,,,,1,C-9",  # 10: too few fields
        "",  # 11: blank, skipped
    ]
    for n in range(10, 40):  # enough good rows that the bad share stays under 20%
        rows.append(f"P{n},p{n}@acme.example,,,,,C-{n},,")
    path = write(tmp_path, "\n".join(rows) + "\n")
    with sessions.begin() as session:
        result = import_customers_csv(session, path, max_rejected=0.2)
    assert result.rejected == [
        (3, "lifetime_value 'lots' is not a number"),
        (5, "email 'not-an-email' is not an email address"),
        (6, "external_crm_id is empty"),
        (7, "external_crm_id C-1 repeats line 2"),
        (8, "x handle ANN_A is also on line 2"),
        (9, "x_handle 'has space' is not a valid x handle"),
        (10, "expected 9 fields, found 7"),
    ]
    assert result.created == 2 + 30
    with sessions() as session:
        cy = session.scalars(sa.select(CustomerRow).where(CustomerRow.external_crm_id == "C-3")).one()
    assert cy.name == "Cy, C"


BAD_FILES = [
    ("name,email\n", "A,a@b.example\n", "missing columns: external_crm_id"),
    (HEADER.replace("x_handle", "x_handel"), "", "unknown columns: x_handel"),
    ("name,email,external_crm_id,email\n", "", "repeated columns: email"),
    ("", "", "is empty"),
    (HEADER, 'A,a@b.example,,,,,C-1,,"unterminated\n', "is not valid CSV"),
    (HEADER, "A,a@b.example,,,,oops,C-1,,\nB,b@b.example,,,,,C-2,,\n", "1 of 2 rows are bad"),
]


def test_a_bad_file_is_refused_whole(sessions: Sessions, tmp_path: Path) -> None:
    for header, body, message in BAD_FILES:
        path = write(tmp_path, body, header)
        with pytest.raises(CustomerFileError, match=message), sessions.begin() as session:
            import_customers_csv(session, path)
        assert customer_count(sessions) == 0


def test_a_file_that_is_not_utf8_is_refused(sessions: Sessions, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "Lucía,l@b.example,,,,,C-1,,\n").encode("latin-1"))
    with pytest.raises(CustomerFileError, match="not UTF-8"), sessions.begin() as session:
        import_customers_csv(session, path)
    assert customer_count(sessions) == 0


def test_changed_fields_update_and_a_new_handle_counts_as_an_update(
    sessions: Sessions, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        import_customers_csv(
            session, write(tmp_path, "Ann,ann@a.example,,,,10,C-1,,\nBob,bob@a.example,,,,,C-2,,\n")
        )
    with sessions.begin() as session:
        result = import_customers_csv(
            session, write(tmp_path, "Ann,ann@a.example,,,VIP,10,C-1,,\nBob,bob@a.example,,,,,C-2,bob_b,\n")
        )
    assert (result.created, result.updated, result.unchanged) == (0, 2, 0)


def test_an_author_who_posted_before_the_import_joins_their_crm_record(
    sessions: Sessions, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        early = resolve_identity(
            session, Author(platform="x", user_id="42", handle="Ann_A", display_name="Ann")
        )
        anonymous = early.customer_id
    with sessions.begin() as session:
        result = import_customers_csv(session, write(tmp_path, "Ann A,ann@a.example,,,,,C-1,@ann_a,\n"))
    assert result.created == 1
    with sessions() as session:
        identity = session.get_one(IdentityRow, early.id)
        crm = session.scalars(sa.select(CustomerRow).where(CustomerRow.external_crm_id == "C-1")).one()
        assert identity.customer_id == crm.id
        assert session.get(CustomerRow, anonymous) is None  # merged into the CRM record
    with sessions.begin() as session:
        again = import_customers_csv(session, write(tmp_path, "Ann A,ann@a.example,,,,,C-1,@ann_a,\n"))
    assert (again.unchanged, again.rejected) == (1, [])


def test_a_handle_another_crm_customer_holds_is_rejected(sessions: Sessions, tmp_path: Path) -> None:
    with sessions.begin() as session:
        import_customers_csv(session, write(tmp_path, "Ann,ann@a.example,,,,,C-1,ann_a,\n"))
    body = "Ann,ann@a.example,,,,,C-1,,\n" + "".join(
        f"P{n},p{n}@a.example,,,,,C-{n},,\n" for n in range(2, 12)
    )
    with sessions.begin() as session:
        result = import_customers_csv(session, write(tmp_path, body + "Eve,eve@a.example,,,,,C-99,ann_a,\n"))
    assert result.rejected == [(13, "handle ann_a belongs to customer C-1")]


def test_a_renamed_x_account_keeps_its_customer(sessions: Sessions) -> None:
    with sessions.begin() as session:
        first = resolve_identity(session, Author(platform="x", user_id="7", handle="old_name"))
        renamed = resolve_identity(session, Author(platform="x", user_id="7", handle="new_name"))
        squatter = resolve_identity(session, Author(platform="x", user_id="8", handle="old_name"))
        assert renamed.id == first.id
        assert renamed.handle == "new_name"
        assert squatter.customer_id != first.customer_id
        assert session.scalar(sa.select(sa.func.count()).select_from(MentionRow)) == 0
