"""What a PostgreSQL restart does to the processes of a test: their sessions end, and for a while no new
one opens. The test's own session survives, so it can watch what happens."""

from __future__ import annotations

import time

from django.db import connection


def database_down_for(seconds: float) -> None:
    """Refuse new sessions to the test database and end every session but this test's, for `seconds`."""
    import psycopg

    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [mine] = cursor.fetchone()
    db = connection.settings_dict
    admin = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname="postgres",
        autocommit=True,
    )  # fmt: skip
    with admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                [name, mine],
            ).fetchall()
            assert ended, "no other session to end"
            time.sleep(seconds)  # the ticker tries, and fails, to connect meanwhile
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
