"""`python -m warehouse.probe URL`: exit 0 when a PostgreSQL server answers at URL within 3 s."""

from __future__ import annotations

import sys

import psycopg


def answers(url: str, timeout_s: int = 3) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=timeout_s) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


if __name__ == "__main__":
    sys.exit(0 if answers(sys.argv[1]) else 1)
