"""Every file a user hands in (spec, answers file, roster) is read by one routine with one policy:
at most 1,000,000 bytes, UTF-8 with or without a byte-order mark, no binary (NUL) bytes, and one
wording of each refusal that names the file and says what kind of file it should be."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from symbackprop.engine.spec import lecture_text, load_spec
from symbackprop.errors import AnswerError, ExamError, SpecError, SymbackpropError
from symbackprop.exam.roster import load_roster
from symbackprop.io.files import MAX_INPUT_BYTES
from symbackprop.marking.answers import load_answers

BOM = b"\xef\xbb\xbf"

#: reader, file name, valid text, the kind of file its messages name, its error class
READERS: dict[str, tuple[Callable[[Path], object], str, str, str, type[SymbackpropError]]] = {
    "spec": (load_spec, "net.toml", lecture_text(), "a spec file", SpecError),
    "answers": (load_answers, "a.toml", 'z_h1 = "0.378"\n', "an answers file", AnswerError),
    "roster": (load_roster, "class.csv", "id,name\n1,Ada Lovelace\n", "a roster", ExamError),
}


def _refusal(key: str, path: Path) -> str:
    read, *_, error = READERS[key]
    with pytest.raises(error) as caught:
        read(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message, message
    return message


@pytest.mark.parametrize("key", READERS)
def test_a_byte_order_mark_is_read_past(tmp_path, key):
    read, name, text, *_ = READERS[key]
    plain, marked = tmp_path / name, tmp_path / f"bom-{name}"
    plain.write_bytes(text.encode("utf-8"))
    marked.write_bytes(BOM + text.encode("utf-8"))
    assert repr(read(marked)).replace("bom-", "") == repr(read(plain))


@pytest.mark.parametrize("key", READERS)
def test_a_binary_file_is_refused_in_one_wording(tmp_path, key):
    _, name, text, kind, _ = READERS[key]
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8")[:20] + b"\x00\x01\x02" + bytes(range(256)))
    message = _refusal(key, path)
    wanted = rf"{re.escape(str(path))}: a binary file, not {kind} \((TOML|CSV|TOML or CSV) text\)$"
    assert re.search(wanted, message), message


@pytest.mark.parametrize("key", READERS)
def test_text_that_is_not_utf8_is_refused_in_one_wording(tmp_path, key):
    _, name, text, kind, _ = READERS[key]
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") + "# café\n".encode("latin-1"))
    message = _refusal(key, path)
    assert f": not UTF-8 text (byte {len(text.encode()) + 5}); {kind} is " in message, message


@pytest.mark.parametrize("key", READERS)
def test_an_over_size_file_is_refused_in_one_wording(tmp_path, key):
    _, name, text, kind, _ = READERS[key]
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") + b"#" * MAX_INPUT_BYTES)
    message = _refusal(key, path)
    assert message.endswith(f"{path}: too large ({kind} may have at most {MAX_INPUT_BYTES:,} bytes)"), message
    path.write_bytes(b"#" * (MAX_INPUT_BYTES - 1) + b"\n")  # exactly at the cap: read (and then judged)
    with pytest.raises(READERS[key][4]) as caught:
        READERS[key][0](path)
    assert "too large" not in str(caught.value)


@pytest.mark.parametrize("key", READERS)
def test_a_missing_file_is_named(tmp_path, key):
    _, name, _, kind, _ = READERS[key]
    message = _refusal(key, tmp_path / name)
    assert message.endswith(f"{tmp_path / name}: no such {kind.split(' ', 1)[1]}"), message
