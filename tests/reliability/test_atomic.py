"""Outputs are written atomically: a writer that fails leaves the old file (or none), never half."""

import pytest

from lmdeck import fileio


def test_failed_write_leaves_the_previous_file_untouched(tmp_path):
    target = tmp_path / "scores.csv"
    target.write_text("old complete content\n")
    with pytest.raises(RuntimeError):
        with fileio.atomic_path(target) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old complete content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]  # no temp file left behind


def test_failed_first_write_leaves_nothing(tmp_path):
    target = tmp_path / "deck.md"
    with pytest.raises(RuntimeError):
        with fileio.atomic_path(target) as tmp:
            tmp.write_text("---\nmarp: true\n")
            raise RuntimeError("boom")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_successful_write_is_an_ordinary_readable_file(tmp_path):
    target = tmp_path / "out" / "table.md"
    fileio.write_text(target, "| a |\n")
    assert target.read_text() == "| a |\n"
    assert target.stat().st_mode & 0o044  # readable by others, not mkstemp's 0600
