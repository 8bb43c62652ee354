"""Canvas QTI zip: the manifest, the QTI 1.2 assessments and their numeric answers, reproducible bytes."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal

import pytest

from symbackprop.exam.build import build_exam
from symbackprop.exam.qti import CP_NS, QTI_NS, ZIP_DATE
from symbackprop.exam.variants import asked_values

ALL = ("forward", "loss", "deltas", "gradients", "update")
CP = {"cp": CP_NS}
Q = {"q": QTI_NS}


@pytest.fixture(scope="module")
def exam():
    return build_exam(None, variants=2, seed=9, qti=True)


@pytest.fixture(scope="module")
def archive(exam):
    return zipfile.ZipFile(io.BytesIO(exam.files["canvas-qti.zip"]))


def test_zip_is_reproducible_with_fixed_dates(exam, archive):
    assert build_exam(None, variants=2, seed=9, qti=True).files["canvas-qti.zip"] == exam.files["canvas-qti.zip"]
    assert archive.testzip() is None
    assert all(info.date_time == ZIP_DATE for info in archive.infolist())
    assert archive.namelist() == [
        "imsmanifest.xml", "non_cc_assessments/",  # the empty folder text2qti writes too
        "symbackprop_9_v001/symbackprop_9_v001.xml", "symbackprop_9_v001/assessment_meta.xml",
        "symbackprop_9_v002/symbackprop_9_v002.xml", "symbackprop_9_v002/assessment_meta.xml",
    ]


def test_manifest_resources_point_at_files_in_the_zip(archive):
    manifest = ET.fromstring(archive.read("imsmanifest.xml"))
    assert manifest.tag == f"{{{CP_NS}}}manifest"
    resources = manifest.findall("cp:resources/cp:resource", CP)
    ids = {r.get("identifier") for r in resources}
    qti = [r for r in resources if r.get("type") == "imsqti_xmlv1p2"]
    assert len(qti) == 2
    for resource in resources:
        for f in resource.findall("cp:file", CP):
            assert f.get("href") in archive.namelist()
        for dep in resource.findall("cp:dependency", CP):
            assert dep.get("identifierref") in ids


def test_numerical_items_accept_half_a_unit_around_the_key(exam, archive):
    for v in exam.variants:
        ident = f"symbackprop_9_v{v.label}"
        root = ET.fromstring(archive.read(f"{ident}/{ident}.xml"))
        assert root.tag == f"{{{QTI_NS}}}questestinterop"
        assessment = root.find("q:assessment", Q)
        assert assessment.get("ident") == ident
        items = assessment.findall("q:section/q:item", Q)
        types = [i.find("q:itemmetadata/q:qtimetadata/q:qtimetadatafield[q:fieldlabel='question_type']/"
                        "q:fieldentry", Q).text for i in items]
        assert types[0] == "text_only_question"
        asked = asked_values(v, ALL)
        assert types[1:] == ["numerical_question"] * len(asked)
        for item, a in zip(items[1:], asked, strict=True):
            assert item.get("title") == f"[v{v.label} {a.name}]"  # mark maps Canvas columns by it
            assert item.find("q:presentation/q:response_str/q:render_fib", Q).get("fibtype") == "Decimal"
            condition = item.find("q:resprocessing/q:respcondition[@continue='No']/q:conditionvar/q:or", Q)
            assert condition.find("q:varequal", Q).text == a.display
            low = Decimal(condition.find("q:and/q:vargte", Q).text)
            high = Decimal(condition.find("q:and/q:varlte", Q).text)
            shown = Decimal(a.display)
            assert (shown - low, high - shown) == (Decimal("0.0005"), Decimal("0.0005"))
            assert low <= v.solution.value(a.name) <= high
        meta = ET.fromstring(archive.read(f"{ident}/assessment_meta.xml"))
        points = meta.find("{http://canvas.instructure.com/xsd/cccv1p0}points_possible").text
        assert points == f"{len(asked)}.0"


def test_question_text_has_no_answer(exam, archive):
    import re

    v = exam.variants[0]
    ident = f"symbackprop_9_v{v.label}"
    root = ET.fromstring(archive.read(f"{ident}/{ident}.xml"))
    presented = " ".join(p.find("q:material/q:mattext", Q).text for p in root.iter(f"{{{QTI_NS}}}presentation"))
    assert "Values:" in presented
    for a in asked_values(v, ALL):
        assert not re.search(rf"(?<![\d.]){re.escape(a.display)}(?!\d)", presented), a.name


@pytest.mark.parametrize(("spec", "lang", "task"), [
    (None, "en", "Compute one forward pass, the backward pass and one gradient-descent step."),
    (None, "de", "Berechnen Sie einen Vorwärtsdurchlauf, den Rückwärtsdurchlauf und einen Schritt"),
    ("examples/graph_cs231n.toml", "en", "Compute the circuit's forward values and the gradient of its output"),
])
def test_the_first_item_says_the_task_as_moodles_question_does(spec, lang, task):
    """Canvas's text-only first item: the exercise, the task (it had gone from the values straight to the rounding),
    then how answers are marked; the same task sentence as the Moodle question's."""
    from pathlib import Path

    root_dir = Path(__file__).resolve().parent.parent
    exam = build_exam(root_dir / spec if spec else None, variants=1, seed=9, qti=True, moodle=True, lang=lang)
    archive = zipfile.ZipFile(io.BytesIO(exam.files["canvas-qti.zip"]))
    name = next(n for n in archive.namelist() if n.endswith(".xml") and "_v001/" in n and "meta" not in n)
    intro = ET.fromstring(archive.read(name)).find(".//q:item/q:presentation/q:material/q:mattext", Q).text
    assert task in intro and intro.rindex("\\)") < intro.index(task)  # after the exercise's values
    assert task in exam.files["moodle.xml"].decode()


def test_items_carry_text2qtis_metadata_fields_and_schema_locations(exam, archive):
    # text2qti (xml_assessment.py) gives every item these four qtimetadata fields, in this order
    v = exam.variants[0]
    ident = f"symbackprop_9_v{v.label}"
    raw = archive.read(f"{ident}/{ident}.xml").decode()
    assert "ims_qtiasiv1p2p1.xsd" in raw
    root = ET.fromstring(raw)
    for item in root.iter(f"{{{QTI_NS}}}item"):
        labels = [f.text for f in item.findall("q:itemmetadata/q:qtimetadata/q:qtimetadatafield/q:fieldlabel", Q)]
        assert labels == ["question_type", "points_possible", "original_answer_ids",
                          "assessment_question_identifierref"]
    assert root.find("q:assessment/q:qtimetadata/q:qtimetadatafield/q:fieldlabel", Q).text == "cc_maxattempts"
    assert "cccv1p0.xsd" in archive.read(f"{ident}/assessment_meta.xml").decode()
    assert "imscp_v1p1.xsd" in archive.read("imsmanifest.xml").decode()
    folder = archive.getinfo("non_cc_assessments/")
    assert folder.is_dir() and folder.file_size == 0


def test_each_items_texts_come_from_one_template_call_and_a_teachers_template_restyles_them(exam, archive, tmp_path):
    """The question and feedback texts of every item are the template's, in the items' order; a teacher's
    template that drops the separators is refused in one line naming it."""
    from symbackprop.documents.render import template_folder
    from symbackprop.errors import ExamError

    v = exam.variants[0]
    root = ET.fromstring(archive.read(f"symbackprop_9_v{v.label}/symbackprop_9_v{v.label}.xml"))
    items = root.findall(".//q:item", Q)[1:]
    names = [a.name for a in asked_values(v, ALL)]
    assert [i.get("title") for i in items] == [f"[v{v.label} {n}]" for n in names]
    texts = [i.find("q:presentation/q:material/q:mattext", Q).text for i in items]
    assert all(t.startswith("<p>") and t.endswith(f"<small>[v{v.label} {n}]</small></p>")
               for t, n in zip(texts, names, strict=True))
    (tmp_path / "lms").mkdir()
    (tmp_path / "lms" / "qti_texts.html.j2").write_text("{{ problem }}{% for item in items %}<p>{{ item.latex }}</p>"
                                                         "{{ sep }}<p>{{ item.line }}</p>{{ sep }}{% endfor %}")
    with template_folder(tmp_path):
        restyled = build_exam(None, variants=1, seed=9, qti=True, ask=["forward"])
        zipped = zipfile.ZipFile(io.BytesIO(restyled.files["canvas-qti.zip"]))
        first = ET.fromstring(zipped.read("symbackprop_9_v001/symbackprop_9_v001.xml")).findall(".//q:item", Q)
        assert first[1].find("q:presentation/q:material/q:mattext", Q).text.startswith("<p>")
        (tmp_path / "lms" / "qti_texts.html.j2").write_text("{{ problem }}{% for item in items %}{{ item.line }}"
                                                             "{% endfor %}")
        with pytest.raises(ExamError, match=r"^lms/qti_texts.html.j2: 0 question and feedback texts for \d+"):
            build_exam(None, variants=1, seed=9, qti=True, ask=["forward"])
