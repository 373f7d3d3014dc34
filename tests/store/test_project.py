"""Projects: finding and creating them, migrations, and writers that share a database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading

import numpy as np
import pytest

import dawn.store as store
from dawn.errors import SourceNotFoundError, StoreError
from dawn.store import SCHEMA_VERSION, Project, find_root
from dawn.store import schema as schema_mod


def tables(db_path) -> set[str]:
    with sqlite3.connect(db_path) as con:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_public_surface():
    assert set(store.__all__) == {
        "SCHEMA_VERSION", "History", "ModelVersion", "Outbox", "OutboxItem", "Project",
        "Registry", "Run", "Runs", "find_root", "load_artefact", "save_artefact"}


def test_open_creates_the_state_and_migrates_from_empty(tmp_path):
    with Project.open(tmp_path / "new") as p:
        assert p.root == (tmp_path / "new").resolve() and p.db_path.is_file()
        assert p.schema_version == SCHEMA_VERSION
        assert p.config_path == p.root / "dawn.toml"
        assert "new" in repr(p)
    assert {"schema_version", "models", "model_versions", "promotions", "runs",
            "monitor_history", "action_outbox"} <= tables(tmp_path / "new" / ".dawn" /
                                                          "state.sqlite")
    with sqlite3.connect(tmp_path / "new" / ".dawn" / "state.sqlite") as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_is_idempotent(tmp_path):
    for _ in range(3):
        Project.open(tmp_path).close()
    with sqlite3.connect(tmp_path / ".dawn" / "state.sqlite") as con:
        assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_foreign_keys_are_enforced(tmp_path):
    with Project.init(tmp_path) as p, pytest.raises(sqlite3.IntegrityError), p.transaction():
        p._db.conn.execute("INSERT INTO promotions (model, version, promoted_at) "
                           "VALUES ('ghost', 1, 'now')")


def test_newer_schema_is_refused_with_upgrade_hint(tmp_path):
    Project.init(tmp_path).close()
    with sqlite3.connect(tmp_path / ".dawn" / "state.sqlite") as con:
        con.execute("INSERT INTO schema_version VALUES (?, 'future')", (SCHEMA_VERSION + 5,))
    with pytest.raises(StoreError, match=rf"schema version {SCHEMA_VERSION + 5}.*newer dawn.*"
                                         r"Upgrade dawn"):
        Project.open(tmp_path)


def test_new_migrations_are_applied_in_order_once(tmp_path, monkeypatch):
    Project.init(tmp_path).close()
    extra = ("CREATE TABLE extra (x INTEGER)", "INSERT INTO extra VALUES (42)")
    monkeypatch.setattr(schema_mod, "MIGRATIONS", (*schema_mod.MIGRATIONS, extra))
    monkeypatch.setattr(schema_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    for _ in range(2):
        with Project.open(tmp_path) as p:
            assert p.schema_version == SCHEMA_VERSION + 1
    with sqlite3.connect(tmp_path / ".dawn" / "state.sqlite") as con:
        assert con.execute("SELECT count(*) FROM extra").fetchone()[0] == 1


def test_a_failing_migration_changes_nothing(tmp_path, monkeypatch):
    Project.init(tmp_path).close()
    bad = ("CREATE TABLE half (x INTEGER)", "THIS IS NOT SQL")
    monkeypatch.setattr(schema_mod, "MIGRATIONS", (*schema_mod.MIGRATIONS, bad))
    monkeypatch.setattr(schema_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match=r"cannot use the project database"):
        Project.open(tmp_path)
    assert "half" not in tables(tmp_path / ".dawn" / "state.sqlite")
    monkeypatch.undo()
    with Project.open(tmp_path) as p:
        assert p.schema_version == SCHEMA_VERSION


def test_corrupt_database_names_the_file(tmp_path):
    (tmp_path / ".dawn").mkdir()
    (tmp_path / ".dawn" / "state.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"state\.sqlite.*move it aside"):
        Project.open(tmp_path)


def test_open_finds_the_project_above_and_by_its_toml(tmp_path):
    (tmp_path / "dawn.toml").write_text('name = "x"\n')
    (tmp_path / "data" / "raw").mkdir(parents=True)
    with Project.open(tmp_path / "data" / "raw") as p:
        assert p.root == tmp_path.resolve()
    with Project.open(tmp_path / "dawn.toml") as p:
        assert p.root == tmp_path.resolve()
    assert find_root(tmp_path / "data") == tmp_path.resolve()
    assert not (tmp_path / "data" / ".dawn").exists()


def test_open_without_create(tmp_path):
    with pytest.raises(SourceNotFoundError, match=r"no dawn project at .*Project.init"):
        Project.open(tmp_path / "nothing", create=False)
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "dawn.toml").write_text("")
    with pytest.raises(SourceNotFoundError, match=r"no .dawn/ state yet"):
        Project.open(tmp_path / "cfg", create=False)


def test_init_makes_exactly_that_folder_a_project(tmp_path):
    Project.init(tmp_path).close()
    with Project.init(tmp_path / "nested") as p:
        assert p.root == (tmp_path / "nested").resolve()
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(StoreError, match=r"is a file; a project is a folder"):
        Project.init(tmp_path / "file.txt")


# -- concurrency -----------------------------------------------------------------------
def test_two_connections_in_threads_write_without_losing_anything(tmp_path):
    Project.init(tmp_path).close()
    errors = []

    def writer(tag: str) -> None:
        try:
            with Project.open(tmp_path) as p:  # its own connection, like a server and a CLI
                for i in range(15):
                    p.registry.register_model("shared", {"w": np.full(2, i)}, {"by": tag})
                    p.outbox.enqueue("webhook", {"by": tag, "i": i}, key=f"{tag}-{i}")
                    p.history.record("shared", {"i": i}, details={"by": tag})
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in ("server", "cli")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Project.open(tmp_path) as p:
        assert [v.version for v in p.registry.list_versions("shared")] == list(range(1, 31))
        assert len(p.outbox.items(limit=100)) == 30
        assert len(p.history.query("shared")) == 30


def test_one_project_object_shared_by_threads(tmp_path):
    with Project.init(tmp_path) as p:
        def work():
            for _ in range(10):
                p.outbox.enqueue("x", {})
                p.outbox.claim(limit=1)

        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(p.outbox.items(limit=100)) == 30
        assert len(p.outbox.items("pending", limit=100)) == 0  # each claimed exactly once


def test_two_processes_claim_disjoint_batches(tmp_path):
    with Project.init(tmp_path) as p:
        for i in range(40):
            p.outbox.enqueue("webhook", {"i": i})
    script = (
        "import sys, json\n"
        "from dawn.store import Project\n"
        "got = []\n"
        "with Project.open(sys.argv[1], create=False) as p:\n"
        "    while True:\n"
        "        batch = p.outbox.claim(limit=3)\n"
        "        if not batch: break\n"
        "        for item in batch:\n"
        "            p.outbox.mark_done(item.id); got.append(item.id)\n"
        "print(json.dumps(got))\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in outs]
    import json

    claimed = [i for out, _ in outs for i in json.loads(out)]
    assert sorted(claimed) == list(range(1, 41))  # each delivered once, none lost
    with Project.open(tmp_path) as p:
        assert len(p.outbox.items("done", limit=100)) == 40
