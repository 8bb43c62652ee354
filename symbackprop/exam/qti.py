"""A Canvas-importable QTI 1.2 zip: one quiz per exam variant, one numerical question per asked value.

The layout is the one text2qti writes (and Canvas imports, "QTI .zip file"):
``imsmanifest.xml`` listing, per quiz, ``<id>/<id>.xml`` (a ``questestinterop``
assessment) and ``<id>/assessment_meta.xml`` (Canvas's quiz settings), plus the
empty ``non_cc_assessments/`` folder; the same namespaces and schema locations,
and per item the ``question_type``, ``points_possible``, ``original_answer_ids``
and ``assessment_question_identifierref`` metadata fields.  A
numerical question accepts the key's displayed value and anything within half
a unit of its last decimal (``vargte``/``varlte``), as Moodle's tolerance does.
Canvas numerical questions hold one answer each, hence one quiz per variant
(assign each student their variant's quiz).

The bytes are reproducible: fixed identifiers from the seed and variant, no
dates in the XML, and every zip entry dated 1980-01-01 with fixed permissions.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

from ..documents.render import render_html
from ..errors import ExamError
from ..io.usertext import xml_clean
from .lms import math_html, name, problem_html, tolerance, worked
from .variants import Variant, asked_values

__all__ = ["item_tag", "qti_files", "qti_zip", "quiz_id", "ZIP_DATE"]

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
CP_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
CANVAS_NS = "http://canvas.instructure.com/xsd/cccv1p0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
QTI_SCHEMA = f'xmlns:xsi="{XSI_NS}" xsi:schemaLocation="{QTI_NS} http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd"'
CANVAS_SCHEMA = f'xmlns:xsi="{XSI_NS}" xsi:schemaLocation="{CANVAS_NS} https://canvas.instructure.com/xsd/cccv1p0.xsd"'
#: where one text of ``lms/qti_texts.html.j2`` ends (no text holds a NUL: XML cannot)
_SEP = "\x00"
CP_SCHEMA = (f'xmlns:xsi="{XSI_NS}" xsi:schemaLocation="{CP_NS} http://www.imsglobal.org/xsd/imscp_v1p1.xsd"')


def quiz_id(variant: Variant) -> str:
    return f"symbackprop_{variant.seed}_v{variant.label}"


def item_tag(variant: Variant, name: str) -> str:
    """``[v007 dE/dw5]``: which variant and quantity a question asks, for ``symbackprop mark``."""
    return f"[v{variant.label} {name}]"


def _field(label: str, entry: str) -> str:
    return (f"<qtimetadatafield><fieldlabel>{label}</fieldlabel>"
            f"<fieldentry>{escape(entry)}</fieldentry></qtimetadatafield>")


def _mattext(html_text: str) -> str:
    return f'<material><mattext texttype="text/html">{escape(html_text)}</mattext></material>'


def _bounds(display: str, decimals: int) -> tuple[str, str]:
    value, tol = Decimal(display), Decimal(tolerance(decimals))
    return f"{value - tol:f}", f"{value + tol:f}"


def assessment_xml(variant: Variant, ask: Sequence[str], lang: str = "en", early_rounding: bool = True) -> str:
    s = variant.solution
    d = s.spec.decimals
    ident = quiz_id(variant)
    title = name("quiz", lang, title=s.spec.title, label=variant.label)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<questestinterop xmlns="{QTI_NS}" {QTI_SCHEMA}>',
           f"<assessment ident={quoteattr(ident)} title={quoteattr(title)}>",
           "<qtimetadata>" + _field("cc_maxattempts", "1") + "</qtimetadata>",
           '<section ident="root_section">']
    asked = asked_values(variant, ask)
    lines = worked(s, [(item.name, item.latex) for item in asked], formula=False)
    tags = [item_tag(variant, item.name) for item in asked]  # in the title and the text (Student Analysis shows it)
    intro, *texts = render_html(
        "lms/qti_texts.html.j2", lang=lang, problem=Markup(problem_html(s, lang)), decimals=d, tolerance=tolerance(d),
        graph=variant.is_graph, early_rounding=early_rounding,
        sep=Markup(_SEP), items=[{"group": item.group, "latex": math_html(item.latex), "tag": Markup(escape(tag)),
                                  "line": math_html(line)} for item, line, tag in zip(asked, lines, tags, strict=True)],
    ).split(_SEP)
    if len(texts) != 2 * len(asked):  # a teacher's template that leaves out (or adds) a text
        raise ExamError(f"lms/qti_texts.html.j2: {len(texts)} question and feedback texts for {len(asked)} asked "
                        "values (each asked value needs its question and its feedback, each ended by sep)")
    out += [f"<item ident={quoteattr(ident + '_intro')} title={quoteattr(name('intro', lang))}>",
            "<itemmetadata><qtimetadata>" + _field("question_type", "text_only_question")
            + _field("points_possible", "0") + _field("original_answer_ids", "")
            + _field("assessment_question_identifierref", f"{ident}_intro_ref") + "</qtimetadata></itemmetadata>",
            "<presentation>" + _mattext(intro) + "</presentation>", "</item>"]
    for k, (item, tag) in enumerate(zip(asked, tags, strict=True), start=1):
        question, feedback = texts[2 * k - 2], texts[2 * k - 1]
        low, high = _bounds(item.display, d)
        item_id = f"{ident}_q{k}"
        out += [
            f"<item ident={quoteattr(item_id)} title={quoteattr(tag)}>",
            "<itemmetadata><qtimetadata>" + _field("question_type", "numerical_question")
            + _field("points_possible", "1") + _field("original_answer_ids", f"{item_id}_answer")
            + _field("assessment_question_identifierref", f"{item_id}_ref") + "</qtimetadata></itemmetadata>",
            "<presentation>" + _mattext(question)
            + '<response_str ident="response1" rcardinality="Single">'
            + '<render_fib fibtype="Decimal"><response_label ident="answer1"/></render_fib>'
            + "</response_str></presentation>",
            "<resprocessing>",
            '<outcomes><decvar maxvalue="100" minvalue="0" varname="SCORE" vartype="Decimal"/></outcomes>',
            '<respcondition continue="Yes"><conditionvar><other/></conditionvar>'
            '<displayfeedback feedbacktype="Response" linkrefid="general_fb"/></respcondition>',
            '<respcondition continue="No"><conditionvar><or>'
            f'<varequal respident="response1">{item.display}</varequal>'
            f'<and><vargte respident="response1">{low}</vargte>'
            f'<varlte respident="response1">{high}</varlte></and>'
            '</or></conditionvar><setvar action="Set" varname="SCORE">100</setvar></respcondition>',
            "</resprocessing>",
            '<itemfeedback ident="general_fb"><flow_mat>' + _mattext(feedback) + "</flow_mat></itemfeedback>",
            "</item>",
        ]
    out += ["</section>", "</assessment>", "</questestinterop>"]
    return "\n".join(out) + "\n"


def assessment_meta_xml(variant: Variant, points: int, lang: str = "en") -> str:
    ident = quiz_id(variant)
    title = name("quiz", lang, title=variant.spec.title, label=variant.label,
                 student=variant.student.name if variant.student else "")
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<quiz identifier={quoteattr(ident)} xmlns="{CANVAS_NS}" {CANVAS_SCHEMA}>',
        f"<title>{escape(title)}</title>",
        f"<description>{escape(name('description', lang, label=variant.label, seed=variant.seed))}</description>",
        "<shuffle_answers>false</shuffle_answers>",
        "<scoring_policy>keep_highest</scoring_policy>",
        "<quiz_type>assignment</quiz_type>",
        f"<points_possible>{points}.0</points_possible>",
        "<allowed_attempts>1</allowed_attempts>",
        "<available>false</available>",
        f"<assignment identifier={quoteattr(ident + '_assignment')}>",
        f"<title>{escape(title)}</title>",
        f"<quiz_identifierref>{escape(ident)}</quiz_identifierref>",
        f"<points_possible>{points}.0</points_possible>",
        "<grading_type>points</grading_type>",
        "<submission_types>online_quiz</submission_types>",
        "<workflow_state>unpublished</workflow_state>",
        "</assignment>",
        "</quiz>",
    ]) + "\n"


def manifest_xml(variants: Sequence[Variant], seed: int) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<manifest identifier="symbackprop_manifest_{seed}" xmlns="{CP_NS}" {CP_SCHEMA}>',
           "<metadata><schema>IMS Content</schema><schemaversion>1.1.3</schemaversion></metadata>",
           "<organizations/>", "<resources>"]
    for v in variants:
        ident = quiz_id(v)
        out += [f'<resource identifier="{ident}" type="imsqti_xmlv1p2">',
                f'<file href="{ident}/{ident}.xml"/>',
                f'<dependency identifierref="{ident}_meta"/>',
                "</resource>",
                f'<resource identifier="{ident}_meta" '
                f'type="associatedcontent/imscc_xmlv1p1/learning-application-resource" '
                f'href="{ident}/assessment_meta.xml">',
                f'<file href="{ident}/assessment_meta.xml"/>',
                "</resource>"]
    out += ["</resources>", "</manifest>"]
    return "\n".join(out) + "\n"


def _entry(zf: zipfile.ZipFile, name: str, data: str) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    zf.writestr(info, xml_clean(data).encode("utf-8"))


def qti_files(variant: Variant, ask: Sequence[str], lang: str = "en", early_rounding: bool = True) -> tuple[str, str]:
    """One variant's quiz: its assessment and its Canvas settings (``assessment_meta.xml``), worded in
    ``lms/lang/<lang>.html.j2`` (without ``early_rounding``, the set's rule relaxed, asking for intermediates
    carried unrounded)."""
    return (assessment_xml(variant, ask, lang, early_rounding),
            assessment_meta_xml(variant, len(asked_values(variant, ask)), lang))


def qti_zip(variants: Sequence[Variant], ask: Sequence[str], title: str = "",
            files: Sequence[tuple[str, str]] | None = None) -> bytes:
    """The zip's bytes (the same for the same variants); ``files``: each variant's :func:`qti_files`,
    when already made."""
    buffer = io.BytesIO()
    seed = variants[0].seed if variants else 0
    if files is None:
        files = [qti_files(v, ask) for v in variants]
    with zipfile.ZipFile(buffer, "w") as zf:
        _entry(zf, "imsmanifest.xml", manifest_xml(variants, seed))
        folder = zipfile.ZipInfo("non_cc_assessments/", date_time=ZIP_DATE)  # as text2qti (and Canvas) write it
        folder.create_system = 3
        folder.external_attr = (0o40755 << 16) | 0x10
        zf.writestr(folder, b"")
        for v, (assessment, meta) in zip(variants, files, strict=True):
            ident = quiz_id(v)
            _entry(zf, f"{ident}/{ident}.xml", assessment)
            _entry(zf, f"{ident}/assessment_meta.xml", meta)
    return buffer.getvalue()
