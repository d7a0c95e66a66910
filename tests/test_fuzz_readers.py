"""Seeded fuzzing of every reader: no traceback, no journal change after a refusal, bounded time."""

from __future__ import annotations

import pytest

from tests.fuzzing import CASE_TIME_LIMIT_S, READERS, fuzz

CASES_PER_READER = 200
SEED = 20240601


@pytest.mark.parametrize("reader", READERS)
def test_mutated_inputs_are_imported_or_refused_in_one_line_and_never_change_the_journal(tmp_path, reader):
    res = fuzz(reader, CASES_PER_READER, SEED, tmp_path / reader)
    assert res.crashes == [], "\n".join(res.crashes)
    assert res.changed_after_refusal == []
    assert res.slow == [], f"cases over {CASE_TIME_LIMIT_S} s: {res.slow}"
    assert res.counts["refused"] > 0 and sum(res.counts.values()) == CASES_PER_READER
