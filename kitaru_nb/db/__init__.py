"""Database handles of the step-workflow face (``kitaru_nb.db.sqlite.SqliteDb``)."""
