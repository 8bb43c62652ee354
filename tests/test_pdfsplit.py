"""Cutting a combined PDF at its named destinations (no LaTeX: the PDFs are built here with pikepdf)."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest

from symbackprop.io.pdfsplit import PdfSplitError, destinations, split_pdf


def _combined(path: Path, marks: dict[str, int], pages: int = 7, old_dests: bool = False) -> Path:
    """A PDF whose page k (0-based) is 100 + k points wide, with ``marks`` as named destinations."""
    pdf = pikepdf.new()
    for k in range(pages):
        pdf.add_blank_page(page_size=(100 + k, 200))
    targets = {name: pikepdf.Array([pdf.pages[k].obj, pikepdf.Name.Fit]) for name, k in marks.items()}
    if old_dests:
        pdf.Root.Dests = pikepdf.Dictionary({f"/{name}": dest for name, dest in targets.items()})
    else:
        tree = pikepdf.NameTree.new(pdf)
        for name, dest in targets.items():
            tree[name] = pikepdf.Dictionary(D=dest)  # pdfTeX writes << /D [page /Fit] >>
        pdf.Root.Names = pikepdf.Dictionary(Dests=tree.obj)
    pdf.trailer.Info = pdf.make_indirect(pikepdf.Dictionary(CreationDate="D:19700101000000Z",
                                                            Producer="pdfTeX-1.40.24"))
    pdf.save(path)
    return path


def _widths(path: Path) -> list[int]:
    with pikepdf.open(path) as pdf:
        return [int(page.mediabox[2]) for page in pdf.pages]


@pytest.mark.parametrize("old_dests", [False, True])
def test_each_part_runs_from_its_mark_to_the_next(tmp_path, old_dests):
    src = _combined(tmp_path / "all.pdf", {"symbackprop-v001": 0, "symbackprop-v002": 2, "symbackprop-v003": 3},
                    old_dests=old_dests)
    with pikepdf.open(src) as pdf:
        assert destinations(pdf) == {"symbackprop-v001": 0, "symbackprop-v002": 2, "symbackprop-v003": 3}
    parts = [(f"symbackprop-v00{i}", tmp_path / "out" / f"v00{i}.pdf") for i in (1, 2, 3)]
    assert split_pdf(src, parts) == [p for _, p in parts]
    assert [_widths(p) for _, p in parts] == [[100, 101], [102], [103, 104, 105, 106]]
    with pikepdf.open(parts[0][1]) as part:  # the dates pdfTeX took from SOURCE_DATE_EPOCH are kept
        assert str(part.docinfo.CreationDate) == "D:19700101000000Z"
        assert str(part.docinfo.Producer) == "pdfTeX-1.40.24"


def test_same_input_same_bytes_wherever_written(tmp_path):
    src = _combined(tmp_path / "all.pdf", {"symbackprop-v001": 0, "symbackprop-v002": 4})
    marks = ["symbackprop-v001", "symbackprop-v002"]
    first = split_pdf(src, list(zip(marks, [tmp_path / "a" / "1.pdf", tmp_path / "a" / "2.pdf"], strict=True)))
    again = split_pdf(src, list(zip(marks, [tmp_path / "b" / "x.pdf", tmp_path / "b" / "y.pdf"], strict=True)))
    for one, two in zip(first, again, strict=True):
        assert one.read_bytes() == two.read_bytes()
    assert first[0].read_bytes() != first[1].read_bytes()
    with pikepdf.open(first[0]) as part:
        ident = bytes(part.trailer.ID[0])
    assert len(ident) == 16  # qpdf's deterministic /ID: a digest of the content, not a random one


def test_refuses_a_missing_or_misordered_marker_and_a_non_pdf(tmp_path):
    src = _combined(tmp_path / "all.pdf", {"symbackprop-v001": 0, "symbackprop-v002": 2, "symbackprop-v003": 3})

    def parts(*labels: str) -> list[tuple[str, Path]]:
        return [(f"symbackprop-v{label}", tmp_path / f"{label}.pdf") for label in labels]

    with pytest.raises(PdfSplitError, match="all.pdf: no page marked 'symbackprop-v999'"):
        split_pdf(src, parts("001", "999"))
    with pytest.raises(PdfSplitError, match="'symbackprop-v002' is on page 3, not page 1"):
        split_pdf(src, parts("002"))
    with pytest.raises(PdfSplitError, match=r"'symbackprop-v002' \(page 3\) does not start after 'symbackprop-v003'"):
        split_pdf(src, parts("001", "003", "002"))
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.5\nnothing")
    with pytest.raises(PdfSplitError, match="x.pdf: not a PDF"):
        split_pdf(tmp_path / "x.pdf", parts("001"))
    assert not list(tmp_path.glob("0*.pdf"))  # nothing written when a marker is wrong
