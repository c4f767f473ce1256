"""Write a CRM export for the import benchmark: N rows, a given share of them malformed.

    python -m tests.customers_bench var/bench/customers-10k.csv --rows 10000 --bad-share 0.02
    HARK_DATABASE_URL=sqlite:///var/bench/bench.db hark customers import var/bench/customers-10k.csv --json

The bad rows cycle through every kind of row the importer rejects; it prints how many it wrote.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

from store.crm_import import CSV_COLUMNS

# each returns a malformed row for row number n (a list of fields, maybe of the wrong length)
BAD_KINDS = (
    lambda n, row: [*row[:5], "a lot", *row[6:]],  # lifetime_value not a number
    lambda n, row: [*row[:1], f"user{n}-at-example", *row[2:]],  # email without @
    lambda n, row: [*row[:6], "", *row[7:]],  # no CRM id
    lambda n, row: row[:7],  # fields missing
    lambda n, row: [*row[:7], f"bad handle {n}", *row[8:]],  # space in an X handle
    lambda n, row: [*row[:6], "BENCH-0000001", *row[7:]],  # repeats the first row's CRM id
)


def good_row(n: int, rng: random.Random) -> list[str]:
    tier = "VIP" if rng.random() < 0.05 else "standard"
    return [
        f"Customer {n} Example",
        f"customer{n}@company{n % 997}.example",
        f"+1-555-{n % 10000:04d}",
        rng.choice(("commuter", "family", "fleet", "dealer")),
        tier,
        f"{rng.uniform(500, 50000):.2f}",
        f"BENCH-{n:07d}",
        f"x_user_{n}" if rng.random() < 0.7 else "",
        f"r_user_{n}" if rng.random() < 0.4 else "",
    ]


def write_file(path: Path, rows: int, bad_share: float, seed: int) -> int:
    """Write the file; return how many rows are malformed."""
    rng = random.Random(seed)  # noqa: S311  # test data, not secrets
    bad_every = round(1 / bad_share) if bad_share > 0 else 0
    bad = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for n in range(1, rows + 1):
            row = good_row(n, rng)
            if bad_every and n % bad_every == 0:
                row = BAD_KINDS[bad % len(BAD_KINDS)](n, row)
                bad += 1
            writer.writerow(row)
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--bad-share", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv)
    bad = write_file(args.file, args.rows, args.bad_share, args.seed)
    sys.stderr.write(f"wrote {args.file}: {args.rows} rows, {bad} malformed\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
