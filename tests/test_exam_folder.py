"""Issue 12, "no data lost": a rerun into an exam folder never deletes a file symbackprop did not
write, keeps the earlier set (``previous-N/``) and says what it chose.  The folder's basics (marker,
lock, forged markers, links, full disks) are in test_hostile_files.py; these are the cases a teacher
meets after the first run: edited files, their own ``previous-N`` folder, an unchanged rerun."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import EXAMPLES

from symbackprop.cli import main
from symbackprop.errors import OutputError
from symbackprop.io.outfolder import MARKER, WRITE_THREADS_FROM, write_staged

# the lecture network, one variant: fast, and the same arguments give the same bytes
ARGS = ("exam", "--variants", "1", "--seed", "7")


def _run(capsys, folder: Path, *extra: str) -> list[str]:
    code = main([*ARGS, "-o", str(folder), *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out.splitlines()


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_key_the_teacher_edited_is_kept_even_when_the_rerun_writes_the_original_bytes(tmp_path, capsys):
    folder = tmp_path / "set"
    _run(capsys, folder)
    original = _files(folder)
    edited = (folder / "keys" / "v001.tex")
    edited.write_bytes(edited.read_bytes() + b"% teacher: accept 0.59 for h1\n")
    out = _run(capsys, folder)  # the same arguments: the same bytes as the first run
    assert out[0] == f"{folder}: the earlier set moved to {folder / 'previous-1'} (the new set differs from it)"
    assert (folder / "previous-1" / "keys" / "v001.tex").read_bytes().endswith(b"accept 0.59 for h1\n")
    assert {rel: data for rel, data in _files(folder).items() if not rel.startswith("previous-1/")} == original


def test_an_unchanged_rerun_says_so_and_keeps_nothing_twice(tmp_path, capsys):
    folder = tmp_path / "set"
    _run(capsys, folder)
    (folder / "notes.txt").write_text("mine\n")
    before = _files(folder)
    out = _run(capsys, folder)
    assert out[0] == f"{folder}: the earlier set's files come out with the same bytes: nothing moved"
    assert _files(folder) == before and not (folder / "previous-1").exists()


def test_a_previous_folder_of_the_teacher_is_never_touched(tmp_path, capsys):
    folder = tmp_path / "set"
    _run(capsys, folder)
    mine = folder / "previous-1"
    mine.mkdir()
    (mine / "2019-exam.pdf").write_bytes(b"%PDF-1.4 the teacher's own\n")
    first = {rel: data for rel, data in _files(folder).items() if not rel.startswith("previous-1/")}
    out = _run(capsys, folder, "--seed", "8", "--moodle")  # a different set
    assert out[0] == f"{folder}: the earlier set moved to {folder / 'previous-2'} (the new set differs from it)"
    assert _files(mine) == {"2019-exam.pdf": b"%PDF-1.4 the teacher's own\n"}
    assert _files(folder / "previous-2") == first  # the earlier set, marker included, byte for byte
    marker = json.loads((folder / MARKER).read_text())
    assert "moodle.xml" in marker["files"] and not any(f.startswith("previous-") for f in marker["files"])


def test_a_teacher_file_inside_a_set_folder_stays_when_the_set_moves_away(tmp_path, capsys):
    folder = tmp_path / "set"
    _run(capsys, folder)
    (folder / "answers" / "late-student.toml").write_text('"h1" = "0.593"\n')
    _run(capsys, folder, "--seed", "8")
    assert (folder / "answers" / "late-student.toml").read_text() == '"h1" = "0.593"\n'
    assert (folder / "previous-1" / "answers" / "v001.toml").is_file()
    assert not (folder / "previous-1" / "answers" / "late-student.toml").exists()


def test_a_sets_files_are_written_by_threads_each_once_and_a_failed_one_names_its_file(tmp_path):
    """write_staged spreads a big set's files over threads: every file is there with its bytes, in its folder;
    one that cannot be created fails the whole write with its own name."""
    files = {f"{kind}/v{i:03d}.tex": f"{kind} {i}\n".encode() for kind in ("questions", "keys") for i in range(40)}
    assert len(files) > WRITE_THREADS_FROM
    write_staged(tmp_path / "a", files)
    written = {p.relative_to(tmp_path / "a").as_posix(): p.read_bytes() for p in (tmp_path / "a").rglob("*.tex")}
    assert written == files
    (tmp_path / "b" / "keys").mkdir(parents=True)
    (tmp_path / "b" / "keys" / "v017.tex").write_bytes(b"in the way")
    with pytest.raises(OutputError, match=r"keys/v017\.tex"):
        write_staged(tmp_path / "b", files)


def test_missing_parents_of_the_output_folder_are_made_and_a_failed_run_leaves_none(tmp_path, capsys):
    """``-o a/b/set`` makes a and b as ``mkdir -p`` would (what the README says); a run that fails (here: no fair
    variant, exit 2) removes the folders it made, so nothing is left behind."""
    folder = tmp_path / "a" / "b" / "set"
    _run(capsys, folder)
    assert (folder / "index.csv").is_file()
    other = tmp_path / "c" / "d" / "set"
    spec = tmp_path / "few_draws.toml"
    spec.write_text((EXAMPLES / "exam_lecture.toml").read_text().replace("max_draws = 2000", "max_draws = 1"))
    assert main(["exam", str(spec), "--variants", "30", "--seed", "7", "-o", str(other)]) == 2
    assert "no fair variant" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
