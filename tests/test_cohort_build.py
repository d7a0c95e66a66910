"""Cohort build: pseudonymous, redacted, incremental Parquet from participants' SQLite journals."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("pyarrow", reason="cohorts need pyarrow (pip install 'mirror_kit[cohort]')")

from mirror_kit.cohort import Cohort, CohortError  # noqa: E402
from tests.plugins.cohort import PEOPLE, PLANTED  # noqa: E402

SECRET = "a-long-study-secret"


def all_values(root: Path) -> str:
    """Every decoded string of every Parquet file, their schemas and metadata, and every other file's bytes."""
    import pyarrow.parquet as pq

    out = []
    for f in sorted(root.rglob("*")):
        out.append(str(f.relative_to(root)))
        if f.is_file() and f.suffix == ".parquet":
            t = pq.read_table(f)
            out.append(str(t.schema) + str(pq.ParquetFile(f).metadata.metadata))
            out.append(t.to_pandas().astype(str).to_csv())
        elif f.is_file():
            out.append(f.read_bytes().decode("utf-8", "replace"))
    return "\n".join(out)


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_no_participant_name_or_file_name_appears_anywhere_in_the_cohort(study, tmp_path):
    before = {p: sha(p) for p in study.glob("*.db")}
    Cohort(tmp_path / "c", secret=SECRET).build([str(study / "*.db")], redact=True, names=[PLANTED["name"]])
    text = all_values(tmp_path / "c").casefold()
    for person in PEOPLE:
        assert person.casefold() not in text
        for part in person.split("_"):
            assert part.casefold() not in text, part
    assert {p: sha(p) for p in study.glob("*.db")} == before  # the journals were only read
    df = Cohort(tmp_path / "c").reflections()
    assert len(df) == 120 and df["participant"].nunique() == 4
    assert df["participant"].str.fullmatch(r"p_[0-9a-f]{16}").all()


def test_pseudonyms_are_stable_with_the_same_secret_and_differ_with_another(study, tmp_path):
    ids = {}
    for name, secret in (("a", SECRET), ("b", SECRET), ("c", "another-secret-key")):
        Cohort(tmp_path / name, secret=secret).build([str(study / "*.db")])
        df = Cohort(tmp_path / name).reflections()
        ids[name] = (sorted(df["participant"].unique()), sorted(df["reflection"]))
    assert ids["a"] == ids["b"]
    assert not set(ids["a"][0]) & set(ids["c"][0])
    assert not set(ids["a"][1]) & set(ids["c"][1])


def test_moving_the_study_folder_keeps_the_pseudonyms(study, tmp_path):
    Cohort(tmp_path / "a", secret=SECRET).build([str(study / "*.db")])
    moved = study.rename(tmp_path / "elsewhere")
    Cohort(tmp_path / "b", secret=SECRET).build([str(moved / "*.db")])
    a = set(Cohort(tmp_path / "a").reflections()["participant"])
    assert a == set(Cohort(tmp_path / "b").reflections()["participant"])


def test_redaction_replaces_planted_emails_phones_urls_and_names_but_not_dates(study, tmp_path):
    Cohort(tmp_path / "c", secret=SECRET).build([str(study / "*.db")], redact=True, names=[PLANTED["name"]])
    text = "\n".join(Cohort(tmp_path / "c").reflections()["content"])
    for planted in PLANTED.values():
        assert planted not in text
    assert "carla-mendes" not in text and "1234567" not in text and "Brandt" not in text
    for placeholder in ("[EMAIL]", "[PHONE]", "[URL]", "[NAME]"):
        assert text.count(placeholder) == 4, placeholder
    assert text.count("2024-03-05 at 10:30") == 4  # dates and times are not phone numbers
    plain = "\n".join(Cohort(tmp_path / "p", secret=SECRET).build([str(study / "*.db")]) and
                      Cohort(tmp_path / "p").reflections()["content"])
    assert PLANTED["email"] in plain  # without --redact the text is kept as written


def test_rebuild_reads_only_the_changed_journal_and_drops_removed_ones(study, tmp_path):
    import mirror_kit

    c = Cohort(tmp_path / "c", secret=SECRET)
    assert c.build([str(study / "*.db")])["read"] == 4
    assert c.build([str(study / "*.db")]) | {"seconds": 0} == {
        "sources": 4, "read": 0, "unchanged": 4, "removed": 0, "reflections": 120, "participants": 4, "seconds": 0}
    j = mirror_kit.open(study / "bob_stone.db")
    j.reflections.add("bob_stone", "A new entry about the garden.", "2024-12-30 10:00")
    j.close()
    s = c.build([str(study / "*.db")])
    assert (s["read"], s["unchanged"], s["reflections"]) == (1, 3, 121)
    (study / "dmitri_olsen.db").unlink()
    s = c.build([str(study / "*.db")])
    assert (s["read"], s["removed"], s["participants"]) == (0, 1, 3)
    assert len(list((tmp_path / "c" / "reflections").iterdir())) == 3
    assert "A new entry about the garden." in set(c.reflections()["content"])


def test_bad_inputs_are_one_line_errors_and_leave_the_cohort_as_it_was(study, tmp_path):
    c = Cohort(tmp_path / "c", secret=SECRET)
    c.build([str(study / "*.db")])
    before = c.reflections()
    (study / "zz_not_a_journal.db").write_text("hello")
    with pytest.raises(CohortError, match="zz_not_a_journal.db: not a readable mirror_kit journal"):
        c.build([str(study / "*.db")])
    pd.testing.assert_frame_equal(c.reflections(), before)
    with pytest.raises(CohortError, match="matches no file"):
        c.build([str(tmp_path / "none" / "*.db")])
    with pytest.raises(CohortError, match="secret"):
        Cohort(tmp_path / "d", secret="short").build([str(study / "alice_walker.db")])
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.tex").write_text("x")
    with pytest.raises(CohortError, match="not a cohort"):
        Cohort(tmp_path / "busy", secret=SECRET).build([str(study / "alice_walker.db")])
    assert (tmp_path / "busy" / "thesis.tex").read_text() == "x"
    # a first build that fails part-way leaves no half-made cohort folder behind
    with pytest.raises(CohortError, match="zz_not_a_journal.db"):
        Cohort(tmp_path / "fresh" / "c", secret=SECRET).build([str(study / "*.db")])
    assert not (tmp_path / "fresh" / "c").exists()


def test_cli_build_uses_the_secret_from_the_environment_and_reports_one_line_errors(study, tmp_path):
    cmd = [sys.executable, "-c", "from mirror_kit.cli import run; run()", "cohort", "build",
           str(study / "*.db"), "--out", str(tmp_path / "c")]
    env_root = {"PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PATH": "/usr/bin:/bin"}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env_root)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "MIRROR_KIT_COHORT_SECRET" in r.stderr
    r = subprocess.run([*cmd, "--redact"], capture_output=True, text=True,
                       env={**env_root, "MIRROR_KIT_COHORT_SECRET": SECRET})
    assert r.returncode == 0, r.stderr
    assert "4 journals (4 read" in r.stdout and "120 reflections of 4 participants" in r.stdout


def test_redaction_settings_fingerprint_is_the_same_in_every_process():
    """Equal-length names in any order: one fingerprint, so a rebuild reads only changed journals."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("from mirror_kit.cohort.build import Redactor; "
            "print(Redactor(['Anna', 'Bert', 'Cleo', 'Dirk', 'Anna Berg', 'Emil']).digest())")
    root = str(Path(__file__).resolve().parents[1])
    out = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": root, "PYTHONHASHSEED": str(seed)}).stdout
           for seed in (1, 2, 3, 4)}
    assert len(out) == 1, out


def test_building_leaves_no_side_files_beside_journals_no_one_has_open(study, tmp_path):
    import sqlite3

    before = sorted(p.name for p in study.iterdir())
    held = sqlite3.connect(study / "bob_stone.db")  # another program has this one open
    held.execute("SELECT count(*) FROM reflections").fetchone()
    try:
        Cohort(tmp_path / "c", secret=SECRET).build([str(study / "*.db")])
        after = sorted(p.name for p in study.iterdir())
        # the open journal keeps the files its program needs; the closed ones get none
        assert set(after) - set(before) <= {"bob_stone.db-wal", "bob_stone.db-shm"}
        assert held.execute("SELECT count(*) FROM reflections").fetchone()[0] == 30
    finally:
        held.close()
    assert sorted(p.name for p in study.iterdir()) == before
