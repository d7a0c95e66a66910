"""Fixtures of the cohort tests: small participant journals built from the HappyDB moments in data/."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

HAPPYDB = Path(__file__).resolve().parents[2] / "data" / "happydb" / "claff_happydb_labeled_10k.csv"
PEOPLE = ["alice_walker", "bob_stone", "carla_mendes", "dmitri_olsen"]
PLANTED = {  # identifying details written into the first entry of each journal
    "email": "carla.m@example.org",
    "phone": "+49 30 1234567",
    "url": "https://carla-mendes.example.net/diary",
    "name": "Zoë Brandt",
}


def make_study(folder: Path, per_person: int = 30) -> list[Path]:
    """One journal file per person (identity named after them), moments from HappyDB, dated monthly."""
    import mirror_kit

    with open(HAPPYDB, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, name in enumerate(PEOPLE):
        p = folder / f"{name}.db"
        j = mirror_kit.open(p)
        try:
            j.identities.add(name, exist_ok=True)
            recs = []
            for i, r in enumerate(rows[k * per_person:(k + 1) * per_person]):
                text = r["moment"]
                if i == 0:
                    text += (f" Write to {PLANTED['email']} or call {PLANTED['phone']}, photos on "
                             f"{PLANTED['url']}; {PLANTED['name']} came too. Ran 2024-03-05 at 10:30.")
                recs.append({"content": text, "created_at": f"2024-{1 + i % 12:02d}-{1 + i % 27:02d} 09:00"})
            j.reflections.add_many(name, recs)
        finally:
            j.close()
        paths.append(p)
    return paths


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """A folder of 4 participant journals (120 reflections)."""
    make_study(tmp_path / "study")
    return tmp_path / "study"
