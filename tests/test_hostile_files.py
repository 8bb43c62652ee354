"""Hostile and careless files (issue 10, items 1-3, 7, 15-17): no data lost, no endless read, no traceback.

Every case runs the command in-process and asserts exit 2 with one line naming the path and the
problem, and that nothing the user had is gone and nothing half-written is left behind.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from symbackprop.cli import main
from symbackprop.io import files
from symbackprop.io.files import MAX_INPUT_BYTES, read_capped
from symbackprop.io.outfolder import MARKER, locked_target

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = ROOT / "examples" / "lecture_printed_answers.toml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str, *parts: str) -> None:
    assert err.startswith("symbackprop: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for part in parts:
        assert part in err, (part, err)


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under ``root``, by relative path."""
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging) when the block runs longer than ``seconds``."""
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def fail_writes(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    """Every output write fails with ``code`` (ENOSPC: a full disk, EACCES: no permission)."""
    def refuse(out: object, data: bytes) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(files, "_write", refuse)


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temp dir, redirected so a test sees every temporary folder left behind."""
    folder = tmp_path / "systmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# -- item 7: the size cap holds for files that never end ---------------------------------------------

def test_read_capped_reads_the_cap_plus_one_byte_of_an_endless_file():
    with deadline(20):
        assert len(read_capped("/dev/zero", 1000)) == 1001
        assert len(read_capped("/dev/zero")) == MAX_INPUT_BYTES + 1


@pytest.mark.parametrize("argv, kind", [
    (["check", "/dev/zero"], "a spec file"),
    (["verify", "/dev/zero"], "an answers file"),
    (["verify", "/dev/zero", str(ANSWERS)], "a spec file"),
    (["exam", "--roster", "/dev/zero", "-o", "{tmp}/set"], "a roster"),
    (["worksheet", "/dev/urandom", "-o", "{tmp}/out"], "a spec file"),
])
def test_endless_device_files_are_refused_quickly(tmp_path, capsys, argv, kind):
    with deadline(30):
        code, _, err = run(capsys, *(a.replace("{tmp}", str(tmp_path)) for a in argv))
    assert code == 2
    one_line_error(err, "too large", kind, f"{MAX_INPUT_BYTES:,} bytes")
    assert list(tmp_path.iterdir()) == []  # no exam folder, no output folder


def test_a_pipe_that_never_ends_is_refused(tmp_path, capsys):
    fifo = tmp_path / "answers.toml"
    os.mkfifo(fifo)
    sent = []

    def writer() -> None:  # writes until the reader closes its end (closing flushes too: inside the try)
        try:
            with open(fifo, "wb", buffering=0) as out:
                while True:
                    out.write(b'"z_h1" = "0.378"\n' * 4096)
                    sent.append(1)
        except BrokenPipeError:
            pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    with deadline(30):
        code, _, err = run(capsys, "verify", str(fifo))
        thread.join(20)
    assert code == 2
    one_line_error(err, str(fifo), "too large", "an answers file")
    assert not thread.is_alive() and 0 < len(sent) * 16 * 4096 < 4 * MAX_INPUT_BYTES


def test_an_exam_spec_from_a_pipe_is_read_once_with_its_exam_table(tmp_path, capsys):
    spec = ROOT / "examples" / "exam_lecture.toml"
    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb") as out:
            out.write(spec.read_bytes())

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    with deadline(60):
        piped = _set(capsys, tmp_path / "piped", str(fifo), "--variants", "2")
    thread.join(5)
    from_file = _set(capsys, tmp_path / "file", str(spec), "--variants", "2")
    # the [exam] table (its ranges and overrides) came through: the same variants as from the file
    assert piped["answers/v001.toml"] == from_file["answers/v001.toml"]
    assert piped["variants/v002.toml"] == from_file["variants/v002.toml"]


# -- items 1-3: the exam folder ----------------------------------------------------------------------

def test_a_folder_with_an_index_csv_is_not_an_exam_set(tmp_path, capsys):
    site = tmp_path / "site"
    (site / "photos").mkdir(parents=True)
    (site / "index.csv").write_text("x\n")
    (site / "thesis.tex").write_text("t\n")
    (site / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    before = tree(tmp_path)
    code, out, err = run(capsys, "exam", "-o", str(site))
    assert code == 2 and out == ""
    one_line_error(err, f"-o {site}", "not an exam set", MARKER)
    assert tree(tmp_path) == before


def _set(capsys, folder: Path, *extra: str) -> dict[str, bytes | None]:
    code, out, err = run(capsys, "exam", "-o", str(folder), *extra)
    assert code == 0, err
    return tree(folder)


def test_the_marker_lists_exactly_the_files_written(tmp_path, capsys):
    written = _set(capsys, tmp_path / "set", "--variants", "2", "--moodle")
    marker = json.loads(written.pop(MARKER) or b"")
    assert marker["generator"] == "symbackprop" and marker["format"] == 1
    from symbackprop import __version__

    assert marker["version"] == __version__
    assert marker["files"] == sorted(rel for rel, data in written.items() if data is not None)
    assert {"index.csv", "moodle.xml", "answers/v002.toml", "keys/v001.tex"} <= set(marker["files"])


def test_a_rerun_keeps_the_earlier_set_and_every_file_the_teacher_added(tmp_path, capsys):
    folder = tmp_path / "set"
    first = _set(capsys, folder, "--variants", "2", "--seed", "1")
    (folder / "notes.txt").write_text("my notes\n")
    (folder / "keys" / "marking-scheme.txt").write_text("2 points each\n")
    code, out, err = run(capsys, "exam", "-o", str(folder), "--variants", "3", "--seed", "2")
    assert code == 0 and err == ""
    kept = folder / "previous-1"
    assert out.splitlines()[0] == f"{folder}: the earlier set moved to {kept} (the new set differs from it)"
    assert tree(kept) == first  # the whole earlier set, marker included, byte for byte
    assert (folder / "notes.txt").read_text() == "my notes\n"
    assert (folder / "keys" / "marking-scheme.txt").read_text() == "2 points each\n"
    new = json.loads((folder / MARKER).read_text())["files"]
    assert "answers/v003.toml" in new and "notes.txt" not in new and not any("previous" in f for f in new)
    # a third run keeps the second set next to the first
    code, out, _ = run(capsys, "exam", "-o", str(folder), "--variants", "1", "--seed", "3")
    assert code == 0 and f"moved to {folder / 'previous-2'}" in out
    assert tree(kept) == first and (folder / "previous-2" / "answers" / "v003.toml").is_file()
    assert not (folder / "answers" / "v002.toml").exists()  # moved, not left mixed into the new set
    assert (folder / "notes.txt").read_text() == "my notes\n"


def test_a_teacher_file_in_the_way_stops_the_run_before_anything_moves(tmp_path, capsys):
    folder = tmp_path / "set"
    _set(capsys, folder, "--seed", "1")
    (folder / "moodle.xml").write_text("<my own quiz/>")
    before = tree(tmp_path)
    code, _, err = run(capsys, "exam", "-o", str(folder), "--seed", "2", "--moodle")
    assert code == 2
    one_line_error(err, "moodle.xml exists and symbackprop did not write it")
    assert tree(tmp_path) == before


@pytest.mark.parametrize("marker", [
    {"generator": "symbackprop", "files": ["../outside.txt"]},
    {"generator": "symbackprop", "files": ["/etc/hostname"]},
    {"generator": "other", "files": []},
    "not json",
])
def test_a_forged_marker_is_refused_and_nothing_outside_moves(tmp_path, capsys, marker):
    folder = tmp_path / "set"
    folder.mkdir()
    (tmp_path / "outside.txt").write_text("keep")
    (folder / MARKER).write_text(marker if isinstance(marker, str) else json.dumps(marker))
    before = tree(tmp_path)
    code, _, err = run(capsys, "exam", "-o", str(folder))
    assert code == 2
    one_line_error(err, f"{MARKER} is not a marker symbackprop wrote")
    assert tree(tmp_path) == before


def test_a_linked_folder_inside_a_set_is_never_written_through(tmp_path, capsys):
    folder = tmp_path / "set"
    _set(capsys, folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "v001.tex").write_text("not yours")
    for path in (folder / "keys").iterdir():
        path.unlink()
    (folder / "keys").rmdir()
    (folder / "keys").symlink_to(elsewhere)
    before = tree(elsewhere)
    code, _, err = run(capsys, "exam", "-o", str(folder), "--seed", "4")
    assert code == 2
    one_line_error(err, "keys is in the way")
    assert tree(elsewhere) == before


def test_dot_and_dot_dot_work_and_leave_nothing_behind(tmp_path, capsys, monkeypatch):
    here = tmp_path / "course" / "exam"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)
    first = _set(capsys, Path("."), "--seed", "1")
    assert "index.csv" in first and MARKER in first
    (here / "drafts").mkdir()
    monkeypatch.chdir(here / "drafts")  # a teacher's folder inside the set
    code, out, err = run(capsys, "exam", "-o", "..", "--seed", "2")
    assert code == 0, err
    assert "the earlier set moved to ../previous-1" in out
    assert tree(here / "previous-1") == first
    assert sorted(p.name for p in (tmp_path / "course").iterdir()) == ["exam"]  # no ..XXXX.old
    assert not any(p.name.startswith(".symbackprop-tmp-") for p in here.iterdir())
    monkeypatch.chdir(tmp_path / "course")
    (tmp_path / "course" / "syllabus.txt").write_text("x")
    code, _, err = run(capsys, "exam", "-o", ".")
    assert code == 2
    one_line_error(err, "-o .: exists and is not an exam set")


def test_a_killed_run_leaves_a_temporary_folder_the_next_run_removes(tmp_path, capsys):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / ".symbackprop-tmp-abc123" / "questions").mkdir(parents=True)
    (folder / ".symbackprop-tmp-abc123" / "questions" / "v001.tex").write_text("half")
    written = _set(capsys, folder)
    assert not any(".symbackprop-tmp-" in rel for rel in written) and "index.csv" in written


def test_a_second_run_into_a_locked_folder_fails_at_once(tmp_path, capsys):
    folder = tmp_path / "set"
    with locked_target(folder):  # another run holds the folder
        with deadline(20):
            code, _, err = run(capsys, "exam", "-o", str(folder), "--seed", "2")
        assert code == 2
        one_line_error(err, f"-o {folder}", "another symbackprop exam is writing into this folder")
        assert list(folder.iterdir()) == []
    assert list(folder.iterdir()) == []
    _set(capsys, folder)  # once released, the folder is free


def test_the_lock_holds_across_processes(tmp_path):
    from forked import symbackprop_in_a_fork

    folder = tmp_path / "set"
    with locked_target(folder):
        result = symbackprop_in_a_fork("exam", "-o", str(folder), timeout=120)
    assert result.returncode == 2 and "another symbackprop exam is writing" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_full_disk_during_an_exam_leaves_no_folder_and_the_earlier_set_untouched(tmp_path, capsys,
                                                                                  monkeypatch):
    fail_writes(monkeypatch, errno.ENOSPC)
    code, _, err = run(capsys, "exam", "-o", str(tmp_path / "new"))
    assert code == 2
    one_line_error(err, str(tmp_path / "new"), "the disk is full")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    folder = tmp_path / "set"
    _set(capsys, folder, "--seed", "1")
    before = tree(tmp_path)
    fail_writes(monkeypatch, errno.ENOSPC)
    code, _, err = run(capsys, "exam", "-o", str(folder), "--seed", "2")
    assert code == 2
    one_line_error(err, "the disk is full")
    assert tree(tmp_path) == before


# -- item 15: output paths ---------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["worksheet", "-o", "{tmp}/afile"], "-o {tmp}/afile: {tmp}/afile is a file, not a folder"),
    (["slides", "-o", "{tmp}/afile"], "-o {tmp}/afile: {tmp}/afile is a file, not a folder"),
    (["worksheet", "--pdf", "-o", "{tmp}/afile/sub"], "-o {tmp}/afile/sub: {tmp}/afile is a file, not a folder"),
    (["snippet", "dE/dw1", "-o", "{tmp}/adir"], "-o {tmp}/adir: is a folder; give a file name"),
    (["snippet", "dE/dw1", "--format", "png", "-o", "{tmp}/adir"], "-o {tmp}/adir: is a folder"),
    (["verify", str(ANSWERS), "-o", "{tmp}/adir"], "-o {tmp}/adir: is a folder"),
    (["verify", str(ANSWERS), "-o", "{tmp}/afile/x.pdf"], "{tmp}/afile is a file, not a folder"),
    (["exam", "-o", "{tmp}/afile"], "-o {tmp}/afile: exists and is not a folder"),
])
def test_an_output_path_in_the_way_is_one_line(tmp_path, capsys, private_tmp, argv, message):
    (tmp_path / "afile").write_text("mine")
    (tmp_path / "adir").mkdir()
    before = tree(tmp_path)
    code, out, err = run(capsys, *(a.replace("{tmp}", str(tmp_path)) for a in argv))
    assert code == 2 and out == ""
    one_line_error(err, message.replace("{tmp}", str(tmp_path)))
    assert tree(tmp_path) == before


@pytest.mark.parametrize("code, problem", [(errno.ENOSPC, "the disk is full"),
                                           (errno.EACCES, "permission denied")])
@pytest.mark.parametrize("argv, target", [
    (["worksheet", "-o", "{tmp}/out"], "{tmp}/out/lecture.tex"),
    (["worksheet", "--format", "md", "-o", "{tmp}/out"], "{tmp}/out/lecture.md"),
    (["slides", "-o", "{tmp}/out"], "{tmp}/out/lecture-slides.tex"),
    (["snippet", "dE/dw1", "-o", "{tmp}/out/w1.tex"], "{tmp}/out/w1.tex"),
    (["verify", str(ANSWERS), "-o", "{tmp}/out/report.json"], "{tmp}/out/report.json"),
])
def test_a_failed_write_names_the_file_and_leaves_nothing(tmp_path, capsys, monkeypatch, code, problem,
                                                          argv, target):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("mine")
    fail_writes(monkeypatch, code)
    exit_code, _, err = run(capsys, *(a.replace("{tmp}", str(tmp_path)) for a in argv))
    assert exit_code == 2
    one_line_error(err, f"cannot write {target.replace('{tmp}', str(tmp_path))}: {problem}")
    assert tree(tmp_path) == {"out": None, "out/old.txt": b"mine"}


def test_a_read_only_folder_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root may write anyway: let os.access answer as for a user
        real = os.access
        monkeypatch.setattr(os, "access", lambda path, mode: real(path, mode) and Path(path) != folder)
    try:
        for argv in (["worksheet", "-o", str(folder)], ["slides", "-o", str(folder / "sub")],
                     ["snippet", "dE/dw1", "-o", str(folder / "x.tex")],
                     ["verify", str(ANSWERS), "-o", str(folder / "x.pdf")], ["exam", "-o", str(folder / "set")]):
            code, out, err = run(capsys, *argv)
            assert code == 2 and out == ""
            one_line_error(err, f"cannot write in {folder}: permission denied")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


# -- items 15-17 with LaTeX: a failed copy of the finished PDF, a non-ASCII spec name -----------------

def test_a_full_disk_after_the_compile_leaves_no_file_and_no_temp_folder(tex, tmp_path, capsys, monkeypatch,
                                                                         private_tmp):
    (tmp_path / "out").mkdir()
    fail_writes(monkeypatch, errno.ENOSPC)
    for argv, target in [
        (["verify", str(ANSWERS), "-o", str(tmp_path / "out" / "marked.pdf")], tmp_path / "out" / "marked.pdf"),
        (["snippet", "dE/dw1", "--format", "svg", "-o", str(tmp_path / "out" / "w1.svg")],
         tmp_path / "out" / "w1.svg"),
        (["worksheet", "--pdf", "--sections", "problem", "-o", str(tmp_path / "out")],
         tmp_path / "out" / "lecture.pdf"),
    ]:
        code, _, err = run(capsys, *argv)
        assert code == 2
        one_line_error(err, f"cannot write {target}: the disk is full")
        assert list((tmp_path / "out").iterdir()) == []
        assert list(private_tmp.iterdir()) == []  # the LaTeX folder is removed (item 17)


def test_a_non_ascii_spec_name_compiles(tex, tmp_path, capsys, private_tmp):
    spec = tmp_path / "réseau ü.toml"
    spec.write_text((ROOT / "examples" / "lecture.toml").read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = run(capsys, "worksheet", str(spec), "--pdf", "--sections", "problem,forward",
                         "-o", str(tmp_path / "out"))
    assert code == 0, err
    pdf = tmp_path / "out" / "réseau ü.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-") and str(pdf) in out
    assert list(private_tmp.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes (POSIX)")
@pytest.mark.parametrize("argv", [["snippet", "z_h1", "-o", "{out}"], ["verify", "{answers}", "-o", "{out}"]])
def test_an_output_that_is_a_device_or_a_pipe_is_refused_and_left_as_it_is(tmp_path, capsys, argv):
    """-o /dev/full had become a regular file (the atomic write replaced the device); a pipe is refused the same way,
    in one line, exit 2, and stays a pipe.  (write_atomic refuses one too.)"""
    import stat

    from symbackprop.errors import OutputError
    from symbackprop.io.files import write_atomic

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "a.toml").write_text('[values]\nz_h1 = "0.378"\n')
    code = main([a.format(out=fifo, answers=tmp_path / "a.toml") for a in argv])
    assert code == 2 and capsys.readouterr().err == (
        f"symbackprop: error: -o {fifo}: is a device, a pipe or a socket, not a file; give a file name\n")
    with pytest.raises(OutputError, match="is a device, a pipe or a socket"):
        write_atomic(fifo, "x")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_failed_handout_write_takes_back_the_folders_it_made(tmp_path, monkeypatch):
    """A full disk: worksheet --pdf -o small/ws had left the folder it made (and could leave a PDF without its .tex);
    now a failed write removes what the call wrote and the folders it made (and only those)."""
    from symbackprop.documents import handout
    from symbackprop.errors import OutputError
    from symbackprop.io import pdf

    def compiled(text, path, jobname):  # the PDF written, its folder made (as compile_pdf does)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"%PDF-1.5")
        return path

    def full(path, data):
        raise OutputError(f"cannot write {path}: the disk is full")

    monkeypatch.setattr(pdf, "compile_pdf", compiled)
    monkeypatch.setattr(handout, "write_atomic", full)
    (tmp_path / "kept").mkdir()
    with pytest.raises(OutputError, match="the disk is full"):
        handout.write_document("text", tmp_path / "kept" / "new" / "deeper", "lecture", pdf=True, fmt="tex")
    assert [p.name for p in tmp_path.rglob("*")] == ["kept"]
