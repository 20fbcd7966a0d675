"""``parley staff`` (the staff web's accounts) and ``parley audit``, as real processes on
a SQLite file: the password from standard input when it is not a terminal."""

from __future__ import annotations

from pathlib import Path

from tests import databases
from tests.test_cli import parley

SECRET = "a long enough password"


def rows(tmp_path: Path, query: str) -> list[tuple[object, ...]]:
    with databases.connect(databases.location(tmp_path)) as db:
        return db.execute(query).fetchall()


def test_accounts_are_added_listed_changed_and_removed(tmp_path: Path) -> None:
    added = parley(tmp_path, "staff", "add", "amina", "--role", "organiser", stdin=SECRET + "\n")
    assert added.returncode == 0, added.stderr
    assert "Staff account 'amina' (organiser) added." in added.stdout
    [(hashed,)] = rows(tmp_path, "SELECT password FROM staff_accounts")
    assert str(hashed).startswith("$argon2id$")
    assert SECRET not in str(hashed)
    parley(tmp_path, "staff", "add", "tom", "--role", "worker", stdin=SECRET + "\n")
    listed = parley(tmp_path, "staff", "list")
    assert listed.stdout.splitlines()[0].split() == ["Name", "role", "added", "password", "set"]
    assert [line.split()[:2] for line in listed.stdout.splitlines()[1:]] == [
        ["amina", "organiser"],
        ["tom", "worker"],
    ]
    assert parley(tmp_path, "staff", "role", "tom", "--role", "organiser").returncode == 0
    changed = parley(tmp_path, "staff", "password", "tom", stdin="another long password\n")
    assert changed.returncode == 0, changed.stderr
    assert parley(tmp_path, "staff", "remove", "tom").returncode == 0
    assert rows(tmp_path, "SELECT name, role FROM staff_accounts") == [("amina", "organiser")]
    audited = parley(tmp_path, "audit", "--action", "staff")
    lines = audited.stdout.splitlines()
    assert [line.split()[-3:] for line in lines[1:]] == [
        ["staff.remove", "staff", "tom"],
        ["staff.password", "staff", "tom"],
        ["staff.role", "staff", "tom"],
        ["staff.add", "staff", "tom"],
        ["staff.add", "staff", "amina"],
    ]
    assert all(" cli " in line for line in lines[1:])
    assert "Nothing matches." in parley(tmp_path, "audit", "--front", "web").stdout


def test_mistakes_are_one_line_each(tmp_path: Path) -> None:
    short = parley(tmp_path, "staff", "add", "amina", "--role", "worker", stdin="short\n")
    assert short.returncode == 1
    assert "a password has at least 10 characters" in short.stderr
    none = parley(tmp_path, "staff", "add", "amina", "--role", "worker", stdin="")
    assert none.returncode == 2
    assert "give the password on standard input" in none.stderr
    bad = parley(tmp_path, "staff", "add", "ámi na", "--role", "worker", stdin=SECRET + "\n")
    assert bad.returncode == 1
    assert "a name is 1 to 40 letters" in bad.stderr
    parley(tmp_path, "staff", "add", "amina", "--role", "worker", stdin=SECRET + "\n")
    twice = parley(tmp_path, "staff", "add", "Amina", "--role", "worker", stdin=SECRET + "\n")
    assert "there is already a staff account 'Amina'" in twice.stderr
    missing = parley(tmp_path, "staff", "remove", "nobody")
    assert missing.returncode == 1
    assert "there is no staff account 'nobody'; staff accounts: amina" in missing.stderr
    assert "Traceback" not in missing.stderr + twice.stderr + bad.stderr
    assert rows(tmp_path, "SELECT count(*) FROM staff_accounts") == [(1,)]
