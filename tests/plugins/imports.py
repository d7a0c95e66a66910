"""Fixtures for the importer tests: the real jrnl program in a private HOME, Day One export ZIPs built
from Day One's documented JSON layout, and the HappyDB slice."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "import"
HAPPYDB_SLICE = FIXTURES / "happydb_slice.csv"


def find_jrnl() -> str:
    """The jrnl executable of this venv (next to python), else on PATH; a missing jrnl fails the test."""
    here = Path(sys.executable).parent / "jrnl"
    if here.exists():
        return str(here)
    found = shutil.which("jrnl")
    if not found:
        pytest.fail("the jrnl program is not installed (pip install jrnl; it is in the test extras)")
    return found


class JrnlJournal:
    """A jrnl journal in its own HOME/XDG dirs, driven only through the jrnl command line."""

    def __init__(self, root: Path):
        self.root = root
        self.exe = find_jrnl()
        self.file = root / "journal.txt"
        cfg = root / "config" / "jrnl"
        cfg.mkdir(parents=True)
        self.config = cfg / "jrnl.yaml"
        self.config.write_text(
            "colors: {body: none, date: none, tags: none, title: none}\n"
            "default_hour: 9\ndefault_minute: 0\neditor: ''\nencrypt: false\nhighlight: false\n"
            f"indent_character: '|'\njournals:\n  default:\n    journal: {self.file}\n"
            "linewrap: 79\ntagsymbols: '#@'\ntemplate: false\ntimeformat: '%F %r'\nversion: v4.6\n",
            encoding="utf-8",
        )
        self.env = {**os.environ, "HOME": str(root), "XDG_CONFIG_HOME": str(root / "config"),
                    "XDG_DATA_HOME": str(root / "data"), "NO_COLOR": "1", "TERM": "dumb"}

    def run(self, *args: str) -> str:
        proc = subprocess.run([self.exe, *args], env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=60, cwd=self.root)
        if proc.returncode != 0:
            raise AssertionError(f"jrnl {args} failed ({proc.returncode}): {proc.stderr}")
        return proc.stdout

    def write(self, text: str) -> None:
        """`jrnl "2024-03-01 09:00: Title. Body"`: a new entry, exactly as a user writes one."""
        self.run(text)

    def edit(self, on: str, sed_expr: str) -> None:
        """`jrnl -on DATE --edit` with sed as the editor: an edit made through jrnl itself."""
        self.run("--config-override", "editor", f"sed -i {shlex.quote(sed_expr)}", "-on", on, "--edit")

    def export_json(self, out: Path) -> Path:
        out.write_text(self.run("--format", "json"), encoding="utf-8")
        return out


@pytest.fixture
def jrnl_journal(tmp_path: Path) -> JrnlJournal:
    """A jrnl journal with five entries (two in the same minute, one starred, tags, non-ASCII text)."""
    j = JrnlJournal(tmp_path / "jrnl")
    j.root.mkdir(exist_ok=True)
    j.write("2024-03-01 09:00: Morning walk. I felt calm by the river @nature @calm")
    j.write("2024-03-02 21:30: Argument with Sam. We talked it through, Zoë café ✓ @family")
    j.write("2024-03-02 21:30: Same minute. A second entry in the same minute.")
    j.write("2024-03-05 10:00: *Starred day. Finished the draft @work")
    j.write("2024-04-10 18:15: Quiet evening. Reading alone; I want more time like this.")
    return j


# -- Day One ---------------------------------------------------------------------------------------
def dayone_entry(uuid: str, created: str, text: str, **extra) -> dict:
    """An entry as Day One's JSON export writes it (the documented keys)."""
    e = {
        "uuid": uuid,
        "creationDate": created,
        "modifiedDate": created,
        "timeZone": "Europe/Paris",
        "text": text,
        "starred": False,
        "tags": [],
        "creationDevice": "iPhone",
        "creationDeviceType": "iPhone",
        "creationOSName": "iOS",
        "duration": 0,
    }
    e.update(extra)
    return e


def write_dayone_zip(path: Path, journals: dict[str, list[dict]], members: dict[str, bytes] | None = None) -> Path:
    """A Day One export ZIP: one `<Journal>.json` ({metadata: {version}, entries}) per journal, plus
    media members such as `photos/<md5>.jpeg`."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, entries in journals.items():
            doc = {"metadata": {"version": "1.0"}, "entries": entries}
            zf.writestr(f"{name}.json", json.dumps(doc, indent=2, ensure_ascii=False))
        for name, data in (members or {}).items():
            zf.writestr(name, data)
    return path


PHOTO_MD5 = "6b3a55e0261b0304143f805a24924d0c"
JPEG_BYTES = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def dayone_journals() -> dict[str, list[dict]]:
    return {
        "Journal": [
            dayone_entry(
                "A1B2C3D4E5F60718293A4B5C6D7E8F90", "2024-05-01T06:30:00Z",
                "# Sunrise run\n\nRan 5 km before work\\. Felt strong \\- really strong\\! "
                "(Legs \\(and lungs\\) held up\\.)\n\n![](dayone-moment://3F2A1B0C9D8E7F6A5B4C3D2E1F0A9B8C)\n\n"
                "Tomorrow: rest\\.",
                tags=["running", "morning"], starred=True,
                location={"latitude": 48.8566, "longitude": 2.3522, "placeName": "Jardin du Luxembourg",
                          "localityName": "Paris", "country": "France", "administrativeArea": "Île-de-France",
                          "region": {"center": {"latitude": 48.8566, "longitude": 2.3522}, "radius": 75}},
                weather={"temperatureCelsius": 11.5, "conditionsDescription": "Partly Cloudy",
                         "weatherCode": "partly-cloudy", "weatherServiceName": "Forecast.io",
                         "relativeHumidity": 71, "windSpeedKPH": 9.2},
                photos=[{"identifier": "3F2A1B0C9D8E7F6A5B4C3D2E1F0A9B8C", "md5": PHOTO_MD5, "type": "jpeg",
                         "width": 4032, "height": 3024, "orderInEntry": 0}],
            ),
            dayone_entry(
                "0F1E2D3C4B5A69788796A5B4C3D2E1F0", "2024-05-03T20:10:00Z",
                "Long call with Mum\\. We laughed about the old house\\.", timeZone="America/New_York",
                tags=["family"],
            ),
        ],
        "Work Notes": [
            dayone_entry(
                "99887766554433221100AABBCCDDEEFF", "2024-05-02T13:00:00Z",
                "Sprint review went well\\. Next: *ship* it \\+ write docs\\.", tags=["work"],
            ),
        ],
    }


@pytest.fixture
def dayone_zip(tmp_path: Path) -> Path:
    """A realistic two-journal Day One export with one photo."""
    return write_dayone_zip(tmp_path / "dayone_export.zip", dayone_journals(),
                            {f"photos/{PHOTO_MD5}.jpeg": JPEG_BYTES})


@pytest.fixture
def happydb_slice() -> Path:
    return HAPPYDB_SLICE
