"""``parley contacts``: importing a CSV file (every bad row named, nothing changed unless
asked to skip them; a second import of the same file changes nothing; who opted out
stays so), listing by each filter, showing and setting one contact. The click commands
run with CliRunner on a real SQLite file, as an organiser at the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from bot.cli.office import shell_user
from bot.engine import Session
from bot.store import contacts, polls, sessions
from bot.store.answers import NewAnswer, record
from bot.store.polls import NewPoll, PollOption
from bot.store.sql import Tx
from tests import databases
from tests.cli_kit import rows, seed, tables

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HEADER = "address,channel,language,consent_at,consent_how,ward\n"


# -- helpers ----------------------------------------------------------------------------------


def parley(tmp_path: Path, *args: str) -> Result:
    """``parley ARGS`` on ``tmp_path/parley.db``, as an organiser at the command line."""
    config = tmp_path / "parley.toml"
    if not config.exists():
        config.write_text("[parley]\n", encoding="utf-8")
    return CliRunner().invoke(
        main,
        ["--config", str(config), *args],
        env={
            "PARLEY_DATABASE": databases.of(tmp_path),
            "PARLEY_QUIET_HOURS": "off",  # a broadcast goes at any time of day
            "PARLEY_EXPORT_SECRET": None,
        },
    )


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def failed(result: Result) -> str:
    assert result.exit_code == 1, result.output + repr(result.exception)
    assert "Traceback" not in result.output
    return result.output


def dump(tmp_path: Path) -> dict[str, list[str]]:
    """Every table's rows, in a stable order: the database's whole content."""
    with databases.connect(databases.location(tmp_path)) as db:
        return {
            name: sorted(repr(row) for row in db.execute(f'SELECT * FROM "{name}"'))
            for name in tables(db)
        }


def csv_file(tmp_path: Path, text: str, name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def listed(result: Result) -> list[int]:
    """The contact numbers a ``parley contacts list`` shows, in order."""
    ok(result)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Contact"), result.output
    return [int(line.split()[0]) for line in lines[1:]]


def opted_out_resident(tx: Tx, address: str, **fields: str) -> int:
    """A resident who texted in (consent on record) and later opted out."""
    contact = contacts.touch(tx, "sms", address, "en", NOW)
    contacts.record(tx, contact.id, "consent", NOW, "texted in first", NOW)
    if fields:
        contacts.update(tx, contact, dict(fields))
    contacts.opt_out(tx, contact.id, NOW, "texted STOP")
    return contact.id


GOOD = (
    HEADER
    + "07400 100001,sms,en,2025-11-02,paper form at the community centre,North\n"
    + "+44 7400 100002,whatsapp,pl,2025-11-02 18:30,ward meeting sheet,South\n"
    + "55501234,telegram,,2025-11-03,texted JOIN,\n"
)


# -- importing: bad rows ------------------------------------------------------------------


# Each bad row, and what its refusal says (line 2 is good; each bad row is on its own line).
BAD_ROWS = [
    (",sms,en,2025-11-02,paper form,North", "no address"),
    ("07400 100101,sms,en,,paper form,North", "no consent: say when they agreed"),
    ("07400 100102,sms,en,2025-11-02,,North", "no consent: say how they agreed"),
    (
        "07400 100103,sms,en,last Tuesday,paper form,North",
        "consent_at 'last Tuesday' is not a date",
    ),
    ("07400 100104,sms,en,2025-02-30,paper form,North", "consent_at '2025-02-30' is not a date"),
    ("07400 100105,sms,en,2099-01-01,paper form,North", "consent_at 2099-01-01 is in the future"),
    ("020 7946 0123,sms,en,2025-11-02,paper form,North", "'020 7946 0123' is a landline"),
    ("0800 123 4567,sms,en,2025-11-02,paper form,North", "is a freephone number, not a mobile"),
    ("0909 879 0000,sms,en,2025-11-02,paper form,North", "is a premium-rate number"),
    ("070 1234 5678,sms,en,2025-11-02,paper form,North", "is a personal (follow-me) number"),
    ("07400 12345,sms,en,2025-11-02,paper form,North", "'07400 12345' is not a valid phone"),
    ("07700 900123,sms,en,2025-11-02,paper form,North", "'07700 900123' is not a valid phone"),
    ("call me,sms,en,2025-11-02,paper form,North", "'call me' has letters in it"),
    ("--,whatsapp,en,2025-11-02,paper form,North", "'--' is not a phone number"),
    ("07400 100106,sms,xx,2025-11-02,paper form,North", "unknown language 'xx'; languages: en,"),
    ("07400 100107,email,en,2025-11-02,paper form,North", "channel 'email' is not one of sms,"),
    ("@jo_bloggs,telegram,en,2025-11-02,paper form,", "'@jo_bloggs' is not a Telegram chat id"),
    ("+44 7400 100001,sms,pl,2025-11-02,paper form,South", "the same contact as line 2"),
    ("07400 100108,sms,en,2025-11-02", "4 values, but the first line has 6 columns"),
    ("07400 100109,sms,en,2025-11-02,paper form,North,x", "7 values, but the first line has 6"),
    ("07400 100110,sms,en,2025-11-02," + "f" * 201 + ",North", "consent_how is 201 characters"),
    ("07400 100111,sms,en,2025-11-02,paper form," + "N" * 501, "ward is 501 characters"),
]
FIRST_BAD = 3


def _bad_file(tmp_path: Path) -> Path:
    body = "07400 100001,sms,en,2025-11-02,paper form,North\n"
    body += "".join(row + "\n" for row, _ in BAD_ROWS)
    body += "5550009,telegram,,2025-11-02,texted JOIN,\n"
    return csv_file(tmp_path, HEADER + body, "bad.csv")


def _known_state(tmp_path: Path) -> None:
    """A database with something in it: a first import, and a resident who opted out."""
    ok(parley(tmp_path, "contacts", "import", str(csv_file(tmp_path, GOOD, "first.csv"))))
    seed(tmp_path, lambda tx: opted_out_resident(tx, "+447400100050", ward="East"))


def test_twenty_kinds_of_bad_row_each_named_and_nothing_changes(tmp_path: Path) -> None:
    assert len({why for _, why in BAD_ROWS}) == len(BAD_ROWS) >= 20
    _known_state(tmp_path)
    path = _bad_file(tmp_path)
    before = dump(tmp_path)

    result = parley(tmp_path, "contacts", "import", str(path))
    said = failed(result)
    refused = [line for line in result.stderr.splitlines() if line.startswith(f"{path}:")]
    assert len(refused) == len(BAD_ROWS)
    for number, (line, (_, why)) in enumerate(zip(refused, BAD_ROWS, strict=True)):
        assert line.startswith(f"{path}:{FIRST_BAD + number}: "), line
        assert why in line, (line, why)
    assert f"Error: nothing imported: {len(BAD_ROWS)} rows refused (listed above)" in said
    assert "--skip-bad" in said
    assert dump(tmp_path) == before  # not a row added, changed, nor audited


def test_a_dry_run_with_bad_rows_says_what_would_happen_and_changes_nothing(
    tmp_path: Path,
) -> None:
    _known_state(tmp_path)
    path = _bad_file(tmp_path)
    before = dump(tmp_path)
    result = parley(tmp_path, "contacts", "import", "--dry-run", str(path))
    said = failed(result)  # as the file is, the import would fail
    assert f"Dry run of {path}: nothing was changed." in result.stdout
    assert "2 contacts would be imported: 1 added, 1 updated, 0 unchanged." in result.stdout
    assert f"{len(BAD_ROWS)} rows refused (listed above): as the file is, nothing" in said
    assert result.stderr.count(f"{path}:") == len(BAD_ROWS)
    assert dump(tmp_path) == before


def test_a_dry_run_of_a_good_file_changes_nothing(tmp_path: Path) -> None:
    _known_state(tmp_path)
    before = dump(tmp_path)
    text = GOOD + "07400 100050,sms,pl,2025-11-04,phone call,North\n07400 100003,,,2025-1-4,x,\n"
    result = parley(tmp_path, "contacts", "import", "--dry-run", str(csv_file(tmp_path, text)))
    said = ok(result)
    assert "5 contacts would be imported: 1 added, 1 updated, 3 unchanged." in said
    assert "1 who had opted out would stay opted out" in said
    assert dump(tmp_path) == before


def test_skip_bad_imports_the_rest(tmp_path: Path) -> None:
    _known_state(tmp_path)
    path = _bad_file(tmp_path)
    result = parley(tmp_path, "contacts", "import", "--skip-bad", str(path))
    said = ok(result)
    assert "2 contacts imported: 1 added, 1 updated, 0 unchanged." in said
    assert f"{len(BAD_ROWS)} rows refused (listed above): skipped." in said
    assert result.stderr.count(f"{path}:") == len(BAD_ROWS)
    assert rows(tmp_path, "SELECT address FROM contacts WHERE address = '5550009'") == [
        ("5550009",)
    ]
    found = rows(tmp_path, "SELECT count(*) FROM contacts WHERE address LIKE '+4474001001%'")
    assert found == [(0,)]  # none of the bad rows' numbers
    audit = rows(tmp_path, "SELECT detail FROM audit WHERE action = 'contact.import'")
    assert json.loads(audit[-1][0])["refused"] == len(BAD_ROWS)


def test_a_file_that_cannot_be_read_as_contacts(tmp_path: Path) -> None:
    no_column = csv_file(tmp_path, "phone,consent_at,consent_how\n07400 100001,2025-11-02,x\n")
    said = failed(parley(tmp_path, "contacts", "import", str(no_column)))
    assert f"Error: {no_column}:1: no 'address' column" in said
    reserved = csv_file(tmp_path, HEADER.replace("ward", "consent") + "07400 100001,,,1,x,yes\n")
    said = failed(parley(tmp_path, "contacts", "import", str(reserved)))
    assert f"{reserved}:1: 'consent' is not a field you can set" in said
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "07400 100001,sms,en,2025-11-02,signé,Nord\n").encode("latin-1"))
    assert f"Error: {latin}: not UTF-8 text" in failed(
        parley(tmp_path, "contacts", "import", str(latin))
    )
    empty = csv_file(tmp_path, "", "empty.csv")
    assert f"Error: {empty}: the file is empty" in failed(
        parley(tmp_path, "contacts", "import", str(empty))
    )
    missing = parley(tmp_path, "contacts", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    assert not (tmp_path / "parley.db").exists()  # a bad file never opened the database


# -- importing: good files, again, and who opted out ---------------------------------------


def test_an_import_carries_the_consent_the_file_gives(tmp_path: Path) -> None:
    said = ok(parley(tmp_path, "contacts", "import", str(csv_file(tmp_path, GOOD))))
    assert said.splitlines() == ["3 contacts imported: 3 added, 0 updated, 0 unchanged."]
    made = rows(tmp_path, "SELECT id, channel, address, language, fields, consent_at FROM contacts")
    assert [(c[1], c[2], c[3], json.loads(c[4])) for c in made] == [
        ("sms", "+447400100001", "en", {"ward": "North", "consent": "yes"}),
        ("whatsapp", "+447400100002", "pl", {"ward": "South", "consent": "yes"}),
        ("telegram", "55501234", None, {"consent": "yes"}),
    ]
    # London is on GMT in November: the file's local times are UTC here.
    assert [c[5] for c in made] == [
        "2025-11-02T00:00:00+00:00",
        "2025-11-02T18:30:00+00:00",
        "2025-11-03T00:00:00+00:00",
    ]
    consents = rows(tmp_path, "SELECT contact_id, event, at, how, recorded_by FROM consents")
    assert consents == [
        (made[0][0], "consent", made[0][5], "paper form at the community centre", "cli"),
        (made[1][0], "consent", made[1][5], "ward meeting sheet", "cli"),
        (made[2][0], "consent", made[2][5], "texted JOIN", "cli"),
    ]
    audit = rows(tmp_path, "SELECT actor, front, action, detail FROM audit")
    assert [(a[0], a[1], a[2]) for a in audit] == [(shell_user(), "cli", "contact.import")]
    assert json.loads(audit[0][3]) == {
        "added": 3,
        "updated": 0,
        "unchanged": 0,
        "stayed_opted_out": 0,
        "refused": 0,
        "fields": ["ward"],
    }
    assert "+44" not in audit[0][3]


def test_importing_the_same_file_again_changes_nothing(tmp_path: Path) -> None:
    path = csv_file(tmp_path, GOOD)
    ok(parley(tmp_path, "contacts", "import", str(path)))
    before = dump(tmp_path)
    said = ok(parley(tmp_path, "contacts", "import", str(path)))
    assert said.splitlines() == ["3 contacts imported: 0 added, 0 updated, 3 unchanged."]
    after = dump(tmp_path)
    assert {name: after[name] for name in after if name != "audit"} == {
        name: before[name] for name in before if name != "audit"
    }
    assert len(after["audit"]) == len(before["audit"]) + 1  # the import itself, logged

    # A new consent (another day, another way) is recorded; a changed field updates.
    again = GOOD.replace("2025-11-03,texted JOIN,", "2025-11-20,texted JOIN again,Riverside")
    said = ok(parley(tmp_path, "contacts", "import", str(csv_file(tmp_path, again))))
    assert said.splitlines() == ["3 contacts imported: 0 added, 1 updated, 2 unchanged."]
    assert rows(tmp_path, "SELECT count(*) FROM consents") == [(4,)]
    assert rows(tmp_path, "SELECT consent_at FROM contacts WHERE address = '55501234'") == [
        ("2025-11-20T00:00:00+00:00",)
    ]


def test_who_opted_out_stays_opted_out_and_gets_no_broadcast(tmp_path: Path) -> None:
    out = seed(tmp_path, lambda tx: opted_out_resident(tx, "+447400100050", ward="East"))
    before = rows(tmp_path, "SELECT opted_out_at, consent_at FROM contacts WHERE id = ?", out)
    consents = rows(tmp_path, "SELECT event FROM consents WHERE contact_id = ?", out)
    text = GOOD + "07400 100050,sms,pl,2025-12-01,paper form at the fair,North\n"
    said = ok(parley(tmp_path, "contacts", "import", str(csv_file(tmp_path, text))))
    assert "4 contacts imported: 3 added, 1 updated, 0 unchanged." in said
    assert "1 who had opted out stays opted out: no consent is recorded for them." in said
    assert rows(tmp_path, "SELECT opted_out_at, consent_at FROM contacts WHERE id = ?", out) == (
        before
    )
    assert rows(tmp_path, "SELECT event FROM consents WHERE contact_id = ?", out) == consents
    fields = rows(tmp_path, "SELECT language, fields FROM contacts WHERE id = ?", out)
    assert fields[0][0] == "pl"
    assert json.loads(fields[0][1]) == {"ward": "North"}

    sent = ok(parley(tmp_path, "broadcast", "--text", "en=The hall is open on Friday.", "--yes"))
    assert "3 resident" in sent
    given = rows(tmp_path, "SELECT contact_id FROM outbox WHERE text LIKE '%hall is open%'")
    assert len(given) == 3
    assert (out,) not in given


# -- listing ------------------------------------------------------------------------------------


def _residents(tx: Tx) -> dict[str, int]:
    """Six residents: languages, channels, wards, one opted out; two answered the
    priorities survey and one voted in poll 1."""
    made: dict[str, int] = {}
    for name, channel, address, language, ward in (
        ("ana", "sms", "+447400100201", "en", "North"),
        ("bea", "sms", "+447400100202", "pl", "South"),
        ("cyr", "telegram", "5550201", "pl", "North"),
        ("dan", "whatsapp", "+447400100204", "en", "North"),
        ("eve", "sms", "+447400100205", "ro", "South"),
    ):
        contact = contacts.touch(tx, channel, address, language, NOW)
        contacts.update(tx, contact, {"ward": ward})
        made[name] = contact.id
    made["out"] = opted_out_resident(tx, "+447400100206", ward="North")
    for name in ("ana", "cyr"):
        state = Session("priorities", "en", NOW, NOW, ended=True)
        session_id = sessions.create(tx, made[name], state, NOW)
        answer = NewAnswer(
            session_id, made[name], None, "priorities", "more", "x", "x", "en", "sms"
        )
        record(tx, answer, NOW)
    options = tuple(PollOption(name, {"en": name}) for name in ("lights", "benches"))
    poll_id = polls.create(tx, NewPoll({"en": "Which first?"}, options, "en"), NOW)
    polls.vote(tx, poll_id, made["bea"], "lights", "pl", "sms", NOW)
    return made


def test_list_by_each_filter(tmp_path: Path) -> None:
    who = seed(tmp_path, _residents)
    everyone = sorted(who.values(), reverse=True)

    def shown(*options: str) -> list[int]:
        return listed(parley(tmp_path, "contacts", "list", *options))

    assert shown() == everyone
    assert shown("--language", "pl") == [who["cyr"], who["bea"]]
    assert shown("--channel", "telegram") == [who["cyr"]]
    assert shown("--field", "ward=South") == [who["eve"], who["bea"]]
    assert shown("--field", "ward=North", "--channel", "sms") == [who["out"], who["ana"]]
    assert shown("--opted-out") == [who["out"]]
    assert who["out"] not in shown("--not-opted-out")
    assert len(shown("--not-opted-out")) == 5
    assert shown("--took-part", "priorities") == [who["cyr"], who["ana"]]
    assert shown("--took-part", "poll:1") == [who["bea"]]
    assert shown("--took-part", "priorities", "--language", "pl") == [who["cyr"]]

    nobody = ok(parley(tmp_path, "contacts", "list", "--field", "ward=Nowhere"))
    assert nobody.strip() == "No contacts match."
    wrong = failed(parley(tmp_path, "contacts", "list", "--took-part", "poll:9"))
    assert "Error: --took-part: there is no poll 9; polls: 1" in wrong
    wrong = failed(parley(tmp_path, "contacts", "list", "--took-part", "nothing"))
    assert "Error: --took-part: there is no flow 'nothing'; flows: " in wrong
    refused = parley(tmp_path, "contacts", "list", "--language", "xx")
    assert refused.exit_code == 2
    assert "unknown language 'xx'" in refused.output
    refused = parley(tmp_path, "contacts", "list", "--field", "ward")
    assert refused.exit_code == 2
    assert "expected NAME=VALUE" in refused.output


def test_list_pages_and_names_residents_by_pseudonym(tmp_path: Path) -> None:
    who = seed(tmp_path, _residents)
    everyone = sorted(who.values(), reverse=True)
    first = parley(tmp_path, "contacts", "list", "--limit", "4")
    assert listed(first) == everyone[:4]
    assert f"More: the same with --older {everyone[3]}" in first.stderr
    rest = parley(tmp_path, "contacts", "list", "--limit", "4", "--older", str(everyone[3]))
    assert listed(rest) == everyone[4:]
    assert "More:" not in rest.stderr

    table = first.stdout.splitlines()
    assert table[0].split() == ["Contact", "resident", "channel", "language", "state", "fields"]
    names = [line.split()[1] for line in table[1:]]
    assert all(name.startswith("R-") and len(name) == 14 for name in names)
    again = parley(tmp_path, "contacts", "list", "--limit", "4").stdout.splitlines()
    assert [line.split()[1] for line in again[1:]] == names  # the same ids every time
    assert "opted out" in table[1]
    assert "ward=North" in table[1]


def test_addresses_only_with_the_flag_and_that_listing_is_logged(tmp_path: Path) -> None:
    seed(tmp_path, _residents)
    plain = ok(parley(tmp_path, "contacts", "list"))
    assert "+44" not in plain
    assert "5550201" not in plain
    assert rows(tmp_path, "SELECT * FROM audit") == []

    shown = ok(parley(tmp_path, "contacts", "list", "--addresses", "--language", "pl"))
    assert "+447400100202" in shown
    assert "5550201" in shown
    assert "+447400100201" not in shown  # only what the filter chose
    assert shown.splitlines()[0].split()[3] == "address"
    audit = rows(tmp_path, "SELECT actor, role, front, action, detail FROM audit")
    assert [entry[:4] for entry in audit] == [
        (shell_user(), "organiser", "cli", "contact.addresses")
    ]
    detail = json.loads(audit[0][4])
    assert detail["shown"] == 2
    assert detail["filter"] == {"language": "pl"}
    assert "+44" not in audit[0][4]
    assert "5550201" not in audit[0][4]


# -- show and set -------------------------------------------------------------------------------


def test_show_a_contact_with_consent_record_and_counts(tmp_path: Path) -> None:
    who = seed(tmp_path, _residents)
    said = ok(parley(tmp_path, "contacts", "show", str(who["out"])))
    lines = said.splitlines()
    assert lines[0].startswith(f"Contact {who['out']} (R-")
    assert "  state: opted out: nothing is sent to them" in lines
    assert "  fields: ward=North" in lines
    assert "  took part: 0 answers, 0 votes, 0 ideas" in lines
    assert "Consent record:" in lines
    record_lines = lines[lines.index("Consent record:") + 2 :]
    assert "agreed to messages" in record_lines[0]
    assert "texted in first" in record_lines[0]
    assert "opted out" in record_lines[1]
    assert "texted STOP" in record_lines[1]
    assert "+44" not in said
    assert "took part: 1 answer, 0 votes, 0 ideas" in ok(
        parley(tmp_path, "contacts", "show", str(who["ana"]))
    )
    assert "Consent record: nothing recorded." in ok(
        parley(tmp_path, "contacts", "show", str(who["ana"]))
    )
    assert rows(tmp_path, "SELECT * FROM audit") == []

    with_address = ok(parley(tmp_path, "contacts", "show", str(who["ana"]), "--address"))
    assert "  phone number: +447400100201" in with_address.splitlines()
    assert rows(tmp_path, "SELECT action, target FROM audit") == [
        ("contact.address", f"contact {who['ana']}")
    ]


def test_show_an_unknown_contact(tmp_path: Path) -> None:
    seed(tmp_path, _residents)
    said = failed(parley(tmp_path, "contacts", "show", "99"))
    assert said.strip() == "Error: there is no contact 99; contacts: 1, 2, 3, 4, 5, 6"
    assert parley(tmp_path, "contacts", "show", "abc").exit_code == 2


def test_set_fields_and_language(tmp_path: Path) -> None:
    who = seed(tmp_path, _residents)
    ana = str(who["ana"])
    said = ok(parley(tmp_path, "contacts", "set", ana, "ward=Old Town", "age=30-44", "language=pl"))
    assert said.strip() == f"Contact {ana}: language pl; fields age=30-44, ward=Old Town."
    assert rows(tmp_path, "SELECT language, fields FROM contacts WHERE id = ?", who["ana"]) == [
        ("pl", json.dumps({"ward": "Old Town", "age": "30-44"}))
    ]
    said = ok(parley(tmp_path, "contacts", "set", ana, "age="))  # nothing: the field goes
    assert said.strip() == f"Contact {ana}: language pl; fields ward=Old Town."
    audit = rows(tmp_path, "SELECT actor, front, action, target, detail FROM audit")
    done = (shell_user(), "cli", "contact.set", f"contact {ana}")
    assert audit == [
        (*done, '{"fields": ["age", "language", "ward"]}'),
        (*done, '{"fields": ["age"]}'),
    ]


def test_set_refuses_what_is_not_a_field(tmp_path: Path) -> None:
    who = seed(tmp_path, _residents)
    ana = str(who["ana"])
    before = dump(tmp_path)
    for given, error in (
        (("language=xx",), "Error: unknown language 'xx'; languages: en, pl,"),
        (("consent=yes",), "Error: 'consent' is not a field you can set: the consent record"),
        (("opted_out=no",), "Error: 'opted_out' is not a field you can set: residents opt out"),
        (("address=+447400999999",), "Error: 'address' is not a field you can set:"),
        (("ward=North", "Consent=no"), "Error: 'Consent' is not a field you can set"),
        (("the ward=North",), "Error: 'the ward' is not a field name like ward"),
    ):
        said = failed(parley(tmp_path, "contacts", "set", ana, *given))
        assert error in said, (given, said)
    assert "there is no contact 99" in failed(parley(tmp_path, "contacts", "set", "99", "a=b"))
    missing = parley(tmp_path, "contacts", "set", ana)
    assert missing.exit_code == 2
    assert "Missing argument" in missing.output
    wrong = parley(tmp_path, "contacts", "set", ana, "ward")
    assert wrong.exit_code == 2
    assert "expected NAME=VALUE" in wrong.output
    assert dump(tmp_path) == before


def test_a_worker_sees_no_addresses_and_may_not_ask_for_them(tmp_path: Path) -> None:
    """The desk behind the command: addresses go to organisers only, when asked."""
    from bot.content import load_content
    from bot.desk import Actor, Desk, Forbidden, Front, Role
    from bot.desk import contacts as desk_contacts
    from bot.settings import load_settings

    who = seed(tmp_path, _residents)
    (tmp_path / "parley.toml").write_text("[parley]\n", encoding="utf-8")
    settings = load_settings(
        {"PARLEY_DATABASE": databases.of(tmp_path)}, config_file=tmp_path / "parley.toml"
    )
    flows, env = load_content(settings)

    def look(tx: Tx) -> None:
        for role in Role:
            desk = Desk(tx, settings, env, flows, NOW, Actor("amina", role, Front.WEB))
            page = desk_contacts.search(desk)  # as the role allows: the staff web's list
            assert all((row.address is not None) == desk.actor.organiser for row in page.rows)
            hidden = desk_contacts.search(desk, addresses=False)
            assert all(row.address is None for row in hidden.rows)
            if role is Role.WORKER:
                with pytest.raises(Forbidden):
                    desk_contacts.search(desk, addresses=True)
                with pytest.raises(Forbidden):
                    desk_contacts.show(desk, who["ana"], addresses=True)

    seed(tmp_path, look)
    assert rows(tmp_path, "SELECT * FROM audit") == []
