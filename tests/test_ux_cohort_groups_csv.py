"""A participants file saved by a spreadsheet in a comma-decimal locale (`;`, BOM, CRLF) is read like
a comma one: it was refused as lacking the columns 'participant' and 'group'."""

from __future__ import annotations

import pytest

from mirror_kit.cohort import CohortError
from mirror_kit.cohort.analyze import read_groups

_MANIFEST = {"sources": {"s1": {"participants": [
    {"id": "p_00000000000000a1", "name_key": "n1", "file_key": "f1", "key": "k1"},
    {"id": "p_00000000000000b2", "name_key": "n2", "file_key": "f2", "key": "k2"},
]}}}


@pytest.mark.parametrize("sep", [";", "\t", ","])
def test_participants_csv_of_any_common_delimiter_is_read(tmp_path, sep):
    p = tmp_path / "groups.csv"
    p.write_bytes(("\ufeffParticipant" + sep + "Group\r\np_00000000000000a1" + sep + "control\r\n"
                   "p_00000000000000b2" + sep + "writing, daily\r\n").encode("utf-8")
                  if sep != "," else
                  b"\xef\xbb\xbfparticipant,group\r\np_00000000000000a1,control\r\np_00000000000000b2,\"writing, daily\"\r\n")
    assert read_groups(p, _MANIFEST, None) == {"p_00000000000000a1": "control", "p_00000000000000b2": "writing, daily"}


def test_participants_csv_without_the_columns_is_still_one_error(tmp_path):
    p = tmp_path / "groups.csv"
    p.write_text("who;arm\np_00000000000000a1;control\n", encoding="utf-8")
    with pytest.raises(CohortError, match="needs the columns 'participant' and 'group'"):
        read_groups(p, _MANIFEST, None)
