"""Store: SQLAlchemy models, migrations and the queries every stage uses."""
