"""Split a pdfTeX PDF into page ranges marked by named destinations (no LaTeX run, no poppler).

``symbackprop exam --pdf`` compiles two combined documents (every question sheet,
every key) and cuts them into one PDF per variant here.  Each variant's first
page carries an invisible named destination (``\\pdfdest name{symbackprop-v007}``,
see ``templates/exam/preamble.tex.j2``), so the page ranges come from the PDF's
own name tree, not from reading its text.

Why not ``pdfseparate`` + ``pdfunite``: poppler writes a fresh random ``/ID``
into every output (the same input gives different bytes) and copies the font
subsets once per *page*, so a 7-page key came out at 1.2 MB against 64 kB as
part of the combined file.  Here the objects a variant's pages use (fonts
included) are copied once, renumbered, and written with a classic xref table
and an ``/ID`` that is the MD5 of the file's body: the same input gives the
same bytes.

The reader handles what pdfTeX writes with ``\\pdfobjcompresslevel=0`` (set by
the exam preamble): a classic xref table (incremental updates are followed) and
plain objects.  Anything else (xref or object streams) is refused with a
:class:`PdfSplitError`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from .errors import SymbackpropError

__all__ = ["PdfDocument", "PdfSplitError", "split_pdf"]


class PdfSplitError(SymbackpropError):
    """The combined PDF cannot be split (not pdfTeX's plain layout, or a marker is missing)."""


class Ref(NamedTuple):
    num: int
    gen: int


class Name(bytes):
    """``/Name`` (with its slash), as written."""


class Raw(bytes):
    """A number, string, boolean or null, as written."""


Value = dict[bytes, "Value"] | list["Value"] | Ref | Name | Raw

_SPACE = re.compile(rb"(?:[\x00\t\n\x0c\r ]+|%[^\r\n]*)*")
_REGULAR = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]+")
_NAME = re.compile(rb"/[^\x00\t\n\x0c\r ()<>\[\]{}/%]*")
_HEX = re.compile(rb"<[0-9A-Fa-f\x00\t\n\x0c\r ]*>")
_PAREN = re.compile(rb"[\\()]")
_DIGITS = re.compile(rb"\d+")
_OBJ = re.compile(rb"(\d+)[\x00\t\n\x0c\r ]+(\d+)[\x00\t\n\x0c\r ]+obj")
_STREAM = re.compile(rb"stream(?:\r\n|\n)")
_ENDSTREAM = re.compile(rb"[\x00\t\n\x0c\r ]*endstream")
_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])")
_INHERITED = (b"/Resources", b"/MediaBox", b"/CropBox", b"/Rotate")
_NULL = Raw(b"null")


class PdfDocument:
    """A parsed PDF: its objects (read on demand), page order and named destinations."""

    def __init__(self, data: bytes):
        self.data = data
        self.offsets: dict[Ref, int] = {}
        self._cache: dict[Ref, tuple[Value, bytes | None]] = {}
        self.trailer = self._read_xref()
        root = self.trailer.get(b"/Root")
        if not isinstance(root, Ref):
            raise PdfSplitError("PDF trailer has no /Root")
        self.catalog = self._dict(root)
        self.pages: list[tuple[Ref, dict[bytes, Value]]] = []
        self.tree: set[Ref] = set()  # every Page and Pages node
        pages = self.catalog.get(b"/Pages")
        if not isinstance(pages, Ref):
            raise PdfSplitError("PDF catalog has no /Pages")
        self._walk(pages, {}, 0)

    # -- reading -------------------------------------------------------------------------------------

    def _read_xref(self) -> dict[bytes, Value]:
        data = self.data
        at = data.rfind(b"startxref", max(0, len(data) - 2048))
        if at < 0:
            raise PdfSplitError("not a PDF (no startxref)")
        match = _DIGITS.search(data, at + 9)
        if match is None:
            raise PdfSplitError("not a PDF (no xref offset)")
        offset: int | None = int(match.group())
        trailer: dict[bytes, Value] | None = None
        seen = set()
        while offset is not None:
            if offset in seen or not 0 <= offset < len(data):
                raise PdfSplitError("PDF xref chain is broken")
            seen.add(offset)
            if not data.startswith(b"xref", offset):
                raise PdfSplitError("PDF uses an xref stream; compile with \\pdfobjcompresslevel=0")
            pos = offset + 4
            while True:
                pos = self._skip(pos)
                head = re.compile(rb"(\d+)[ \t]+(\d+)").match(data, pos)
                if head is None:
                    break
                first, count = int(head.group(1)), int(head.group(2))
                pos = head.end()
                for k in range(count):
                    pos = self._skip(pos)
                    entry = _XREF_ENTRY.match(data, pos)
                    if entry is None:
                        raise PdfSplitError("PDF xref table is malformed")
                    pos = entry.end()
                    ref = Ref(first + k, int(entry.group(2)))
                    if entry.group(3) == b"n" and ref not in self.offsets and first + k:
                        self.offsets[ref] = int(entry.group(1))
            if not data.startswith(b"trailer", pos):
                raise PdfSplitError("PDF xref table has no trailer")
            section, _ = self._value(pos + 7)
            if not isinstance(section, dict):
                raise PdfSplitError("PDF trailer is not a dictionary")
            if b"/XRefStm" in section:
                raise PdfSplitError("PDF uses an xref stream; compile with \\pdfobjcompresslevel=0")
            if trailer is None:
                trailer = section
            prev = section.get(b"/Prev")
            offset = int(prev) if isinstance(prev, Raw) else None
        assert trailer is not None
        return trailer

    def _skip(self, pos: int) -> int:
        match = _SPACE.match(self.data, pos)
        return match.end() if match else pos

    def _value(self, pos: int) -> tuple[Value, int]:
        data = self.data
        pos = self._skip(pos)
        if data.startswith(b"<<", pos):
            pos += 2
            table: dict[bytes, Value] = {}
            while True:
                pos = self._skip(pos)
                if data.startswith(b">>", pos):
                    return table, pos + 2
                key = _NAME.match(data, pos)
                if key is None:
                    raise PdfSplitError(f"PDF dictionary key expected at byte {pos}")
                table[key.group()], pos = self._value(key.end())
        first = data[pos:pos + 1]
        if first == b"[":
            pos += 1
            items: list[Value] = []
            while True:
                pos = self._skip(pos)
                if data.startswith(b"]", pos):
                    return items, pos + 1
                item, pos = self._value(pos)
                items.append(item)
        if first == b"(":
            end = self._string_end(pos)
            return Raw(data[pos:end]), end
        if first == b"<":
            match = _HEX.match(data, pos)
            if match is None:
                raise PdfSplitError(f"PDF hex string expected at byte {pos}")
            return Raw(match.group()), match.end()
        if first == b"/":
            match = _NAME.match(data, pos)
            assert match is not None
            return Name(match.group()), match.end()
        match = _REGULAR.match(data, pos)
        if match is None:
            raise PdfSplitError(f"PDF value expected at byte {pos}")
        token = match.group()
        if token.isdigit():  # maybe "num gen R"
            gen = _REGULAR.match(data, self._skip(match.end()))
            if gen is not None and gen.group().isdigit():
                r = _REGULAR.match(data, self._skip(gen.end()))
                if r is not None and r.group() == b"R":
                    return Ref(int(token), int(gen.group())), r.end()
        return Raw(token), match.end()

    def _string_end(self, pos: int) -> int:
        depth = 0
        while True:
            match = _PAREN.search(self.data, pos)
            if match is None:
                raise PdfSplitError("PDF string is not closed")
            pos = match.end()
            char = match.group()
            if char == b"\\":
                pos += 1
            elif char == b"(":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return pos

    def object(self, ref: Ref) -> tuple[Value, bytes | None]:
        """The object's value and, for a stream, its (still encoded) data."""
        if ref in self._cache:
            return self._cache[ref]
        offset = self.offsets.get(ref)
        if offset is None:
            raise PdfSplitError(f"PDF object {ref.num} {ref.gen} is missing")
        head = _OBJ.match(self.data, self._skip(offset))
        if head is None or (int(head.group(1)), int(head.group(2))) != ref:
            raise PdfSplitError(f"PDF object {ref.num} {ref.gen} is not at its xref offset")
        value, pos = self._value(head.end())
        stream = None
        match = _STREAM.match(self.data, self._skip(pos))
        if match is not None:
            if not isinstance(value, dict):
                raise PdfSplitError(f"PDF stream {ref.num} has no dictionary")
            length = value.get(b"/Length")
            if isinstance(length, Ref):
                length = self.object(length)[0]
            if not isinstance(length, Raw) or not length.isdigit():
                raise PdfSplitError(f"PDF stream {ref.num} has no /Length")
            end = match.end() + int(length)
            if _ENDSTREAM.match(self.data, end) is None:
                raise PdfSplitError(f"PDF stream {ref.num}: /Length does not end at endstream")
            stream = self.data[match.end():end]
        self._cache[ref] = (value, stream)
        return value, stream

    def _dict(self, ref: Ref) -> dict[bytes, Value]:
        value = self.object(ref)[0]
        if not isinstance(value, dict):
            raise PdfSplitError(f"PDF object {ref.num} is not a dictionary")
        return value

    def _walk(self, ref: Ref, inherited: dict[bytes, Value], depth: int) -> None:
        if ref in self.tree or depth > 64:
            raise PdfSplitError("PDF page tree has a cycle")
        self.tree.add(ref)
        node = self._dict(ref)
        if node.get(b"/Type") == b"/Page":
            page = dict(node)
            for key, value in inherited.items():
                page.setdefault(key, value)
            self.pages.append((ref, page))
            return
        passed = dict(inherited)
        passed.update({k: node[k] for k in _INHERITED if k in node})
        kids = node.get(b"/Kids")
        if not isinstance(kids, list):
            raise PdfSplitError(f"PDF pages node {ref.num} has no /Kids")
        for kid in kids:
            if not isinstance(kid, Ref):
                raise PdfSplitError(f"PDF pages node {ref.num}: a kid is not a reference")
            self._walk(kid, passed, depth + 1)

    # -- named destinations --------------------------------------------------------------------------

    def destinations(self) -> dict[str, int]:
        """Named destination -> 0-based page index (name tree and the old /Dests dictionary)."""
        index = {ref: k for k, (ref, _) in enumerate(self.pages)}
        out: dict[str, int] = {}
        for name, value in self._named():
            target = self._resolve(value)
            if isinstance(target, dict):
                target = self._resolve(target.get(b"/D"))
            if isinstance(target, list) and target and isinstance(target[0], Ref) and target[0] in index:
                out.setdefault(name, index[target[0]])
        return out

    def _named(self) -> Iterator[tuple[str, Value]]:
        names = self._resolve(self.catalog.get(b"/Names"))
        if isinstance(names, dict):
            yield from self._name_tree(names.get(b"/Dests"), 0)
        old = self._resolve(self.catalog.get(b"/Dests"))
        if isinstance(old, dict):
            for key, value in old.items():
                yield key[1:].decode("latin-1"), value

    def _name_tree(self, node: Value | None, depth: int) -> Iterator[tuple[str, Value]]:
        node = self._resolve(node)
        if not isinstance(node, dict) or depth > 32:
            return
        pairs = node.get(b"/Names")
        if isinstance(pairs, list):
            for key, value in zip(pairs[0::2], pairs[1::2], strict=False):
                if isinstance(key, Raw):
                    yield _string_text(key), value
        kids = node.get(b"/Kids")
        if isinstance(kids, list):
            for kid in kids:
                yield from self._name_tree(kid, depth + 1)

    def _resolve(self, value: Value | None) -> Value | None:
        return self.object(value)[0] if isinstance(value, Ref) else value

    # -- writing -------------------------------------------------------------------------------------

    def extract(self, first: int, last: int) -> bytes:
        """Pages ``first..last`` (0-based, inclusive) as a PDF of their own, deterministically."""
        chosen = self.pages[first:last + 1]
        if not chosen or first < 0:
            raise PdfSplitError(f"PDF has no pages {first + 1}-{last + 1}")
        number: dict[Ref, int] = {}
        order: list[Ref] = []
        for ref, _ in chosen:  # 1 catalog, 2 pages, then the pages, then what they use
            number[ref] = len(number) + 3
            order.append(ref)
        info = self.trailer.get(b"/Info")
        roots: list[Value] = [{k: v for k, v in page.items() if k != b"/Parent"} for _, page in chosen]
        if isinstance(info, Ref) and info in self.offsets:
            roots.append(info)
        queue = list(roots)
        while queue:
            for ref in _refs(queue.pop()):
                if ref in number or ref in self.tree or ref not in self.offsets:
                    continue
                number[ref] = len(number) + 3
                order.append(ref)
                queue.append(self.object(ref)[0])
        out = bytearray(self.data[:self.data.index(b"\n") + 1] if self.data.startswith(b"%PDF-") else b"%PDF-1.5\n")
        out += b"%\xd0\xd4\xc5\xd8\n"
        offsets = []

        def emit(num: int, body: bytes) -> None:
            offsets.append(len(out))
            out.extend(b"%d 0 obj\n" % num)
            out.extend(body)
            out.extend(b"\nendobj\n")

        emit(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        kids = b" ".join(b"%d 0 R" % number[ref] for ref, _ in chosen)
        emit(2, b"<< /Type /Pages /Count %d /Kids [%s] >>" % (len(chosen), kids))
        pages = dict(chosen)
        for ref in order:
            if ref in pages:
                page = {k: v for k, v in pages[ref].items() if k != b"/Parent"}
                emit(number[ref], _serialise(page, number)[:-2] + b" /Parent 2 0 R>>")
                continue
            value, stream = self.object(ref)
            if stream is None:
                emit(number[ref], _serialise(value, number))
            else:
                assert isinstance(value, dict)
                head = dict(value)
                head[b"/Length"] = Raw(b"%d" % len(stream))
                emit(number[ref], _serialise(head, number) + b"\nstream\n" + stream + b"\nendstream")
        ident = hashlib.md5(bytes(out)).hexdigest().upper().encode()
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
        for offset in offsets:
            out += b"%010d 00000 n \n" % offset
        info_entry = b" /Info %d 0 R" % number[info] if isinstance(info, Ref) and info in number else b""
        out += b"trailer\n<< /Size %d /Root 1 0 R%s /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(offsets) + 1, info_entry, ident, ident, xref)
        return bytes(out)


def _refs(value: Value) -> Iterator[Ref]:
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _serialise(value: Value, number: dict[Ref, int]) -> bytes:
    """PDF syntax for ``value`` with references renumbered; a reference to an object not copied is null."""
    if isinstance(value, Ref):
        return b"%d 0 R" % number[value] if value in number else _NULL
    if isinstance(value, dict):
        return b"<<" + b"".join(key + b" " + _serialise(item, number) for key, item in value.items()) + b">>"
    if isinstance(value, list):
        return b"[" + b" ".join(_serialise(item, number) for item in value) + b"]"
    return bytes(value)


_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _string_text(raw: bytes) -> str:
    """A string token's text (literal or hex; names here are ASCII)."""
    if raw.startswith(b"<"):
        digits = re.sub(rb"[^0-9A-Fa-f]", b"", raw)
        return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode()).decode("latin-1")

    def unescape(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8) & 0xFF])
        return _ESCAPES.get(code, b"" if code in b"\r\n" else code)

    return re.sub(rb"\\([0-7]{1,3}|.)", unescape, raw[1:-1], flags=re.DOTALL).decode("latin-1")


def split_pdf(pdf: Path, parts: Sequence[tuple[str, Path]]) -> list[Path]:
    """Cut ``pdf`` into one file per ``(destination name, out path)``: each part runs from its named
    destination's page to the page before the next part's (the last to the end).

    The parts must start, in the given order, on page 1 and then on strictly later pages.
    """
    try:
        document = PdfDocument(Path(pdf).read_bytes())
    except (IndexError, ValueError, RecursionError) as err:
        raise PdfSplitError(f"{Path(pdf).name}: cannot read the PDF ({err})") from None
    except PdfSplitError as err:
        raise PdfSplitError(f"{Path(pdf).name}: {err}") from None
    dests = document.destinations()
    starts = []
    for name, _ in parts:
        if name not in dests:
            raise PdfSplitError(f"{Path(pdf).name}: no page marked {name!r}")
        starts.append(dests[name])
    if starts and starts[0] != 0:
        raise PdfSplitError(f"{Path(pdf).name}: {parts[0][0]!r} is on page {starts[0] + 1}, not page 1")
    for k in range(1, len(starts)):
        if starts[k] <= starts[k - 1]:
            raise PdfSplitError(f"{Path(pdf).name}: {parts[k][0]!r} (page {starts[k] + 1}) does not start after "
                                f"{parts[k - 1][0]!r} (page {starts[k - 1] + 1})")
    ends = [s - 1 for s in starts[1:]] + [len(document.pages) - 1]
    written = []
    for (_, out), first, last in zip(parts, starts, ends, strict=True):
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(document.extract(first, last))
        written.append(out)
    return written
