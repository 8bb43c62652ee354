"""Non-Latin scripts in user text (names, titles): which characters print as text, and where.

pdfLaTeX with T1 fonts prints Latin text only.  A document whose user text holds
Greek, Cyrillic, Hebrew, Arabic or CJK letters is compiled with LuaLaTeX instead:
the templates' font block (``templates/fonts.tex.j2``) then loads babel and, for
each script present, Noto fonts chosen by character (babel's ``onchar=ids
fonts``); a Latin document keeps the pdfLaTeX preamble byte for byte.  The
escaping sets each run of Hebrew or Arabic text right to left itself
(``\\bgroup\\textdir TRT ...\\egroup``): explicit, so it holds in table cells and
boxes too, where babel's automatic ``bidi=basic`` reversed whole cells.

The ranges are the characters of each script (babel's blocks) that every Noto
face used (serif and sans, regular and bold; Debian's fonts-noto-core and
fonts-noto-cjk) has a glyph for, and that Unicode assigns: printed with these
fonts they never vanish as missing glyphs.  Anything else outside Latin still
prints as its code point (``[U+XXXX]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["FONTS", "LUALATEX_PACKAGES", "RTL_SCRIPTS", "SCRIPTS", "ScriptFonts", "is_script_char", "rtl_runs",
           "scripts_in"]

#: Debian packages for the LuaLaTeX path (engine and fonts).
LUALATEX_PACKAGES = "texlive-luatex fonts-noto-core fonts-noto-cjk"

_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "greek": (
        (0x0370, 0x0377), (0x037A, 0x037F), (0x0384, 0x038A), (0x038C, 0x038C), (0x038E, 0x03A1),
        (0x03A3, 0x03E1), (0x03F0, 0x03FF), (0x1F00, 0x1F15), (0x1F18, 0x1F1D), (0x1F20, 0x1F45),
        (0x1F48, 0x1F4D), (0x1F50, 0x1F57), (0x1F59, 0x1F59), (0x1F5B, 0x1F5B), (0x1F5D, 0x1F5D),
        (0x1F5F, 0x1F7D), (0x1F80, 0x1FB4), (0x1FB6, 0x1FC4), (0x1FC6, 0x1FD3), (0x1FD6, 0x1FDB),
        (0x1FDD, 0x1FEF), (0x1FF2, 0x1FF4), (0x1FF6, 0x1FFE),
    ),
    "cyrillic": ((0x0400, 0x052F), (0x1C80, 0x1C88), (0x2DE0, 0x2DFF), (0xA640, 0xA69F)),
    "hebrew": ((0x0591, 0x05C7), (0x05D0, 0x05EA), (0x05F0, 0x05F4)),
    "arabic": (
        (0x0606, 0x061B), (0x061E, 0x06DC), (0x06DE, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08A0),
        (0x08A2, 0x08AC), (0x08E4, 0x08FE), (0xFB50, 0xFBC1), (0xFBD3, 0xFD3F), (0xFD50, 0xFD8F),
        (0xFD92, 0xFDC7), (0xFDF0, 0xFDFD), (0xFE70, 0xFE74), (0xFE76, 0xFEFC),
    ),
    "cjk": (
        (0x1100, 0x11FF), (0x2E80, 0x2E99), (0x2E9B, 0x2EF3), (0x3001, 0x303F), (0x3041, 0x3096),
        (0x3099, 0x30FF), (0x3131, 0x318E), (0x31C0, 0x31E3), (0x3300, 0x332B), (0x332D, 0x4DB5),
        (0x4E00, 0x9FEA), (0xA960, 0xA97C), (0xAC00, 0xD7A3), (0xD7B0, 0xD7C6), (0xD7CB, 0xD7FB),
        (0xF900, 0xFA6D), (0xFE30, 0xFE4F), (0xFF01, 0xFFBE), (0xFFC2, 0xFFC7), (0xFFCA, 0xFFCF),
        (0xFFD2, 0xFFD7), (0xFFDA, 0xFFDC), (0xFFE0, 0xFFE6), (0xFFE8, 0xFFEE),
    ),
}  # fmt: skip
#: the scripts, in the order the font block sets them up
SCRIPTS: tuple[str, ...] = tuple(_RANGES)


def _char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in ranges)


_ANY = re.compile("[" + "".join(_char_class(r) for r in _RANGES.values()) + "]")
_EACH = {name: re.compile("[" + _char_class(r) + "]") for name, r in _RANGES.items()}


#: the right-to-left scripts: each run of their text is typeset right to left (see :func:`rtl_runs`)
RTL_SCRIPTS = ("hebrew", "arabic")
_RTL = "".join(_char_class(_RANGES[name]) for name in RTL_SCRIPTS)
# a run: right-to-left letters, with the spaces and neutral punctuation between them (as Unicode's
# bidi algorithm joins them: "مريم الحسن / דוד כהן" is one run); digits and brackets stay outside
_RTL_RUN = re.compile(f"[{_RTL}](?:[{_RTL}\\s/.,:;'\"-]*[{_RTL}])?")


def rtl_runs(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, right_to_left) pieces, in order."""
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in _RTL_RUN.finditer(text):
        if match.start() > last:
            pieces.append((text[last:match.start()], False))
        pieces.append((match.group(), True))
        last = match.end()
    if last < len(text) or not pieces:
        pieces.append((text[last:], False))
    return pieces


def is_script_char(ch: str) -> bool:
    """True for a character of a non-Latin script that the LuaLaTeX path prints as text."""
    return _ANY.match(ch) is not None


def scripts_in(text: str) -> list[str]:
    """The non-Latin scripts ``text`` holds, in :data:`SCRIPTS` order (empty: pdfLaTeX will do)."""
    if _ANY.search(text) is None:
        return []
    return [name for name, pattern in _EACH.items() if pattern.search(text)]


@dataclass(frozen=True)
class ScriptFonts:
    """How ``templates/fonts.tex.j2`` sets up one script: babel locales and Noto font files."""

    locales: tuple[str, ...]  # babel locales whose characters select these fonts (the last wins an overlap)
    serif: str  # file name stem (fontspec loads files: no font-name database lookup)
    sans: str
    options: str  # fontspec options naming the faces (trusted LaTeX)
    one_face: bool = False  # one face for serif and sans text (the sans one in a deck)


_TTF = "Ligatures=TeXOff,Extension=.ttf,UprightFont=*-Regular,BoldFont=*-Bold"
_NOTO = f"{_TTF},ItalicFont=*-Italic,BoldItalicFont=*-BoldItalic"
_UPRIGHT = f"{_TTF},ItalicFont=*-Regular,BoldItalicFont=*-Bold"  # no italic face: upright
#: per script, in :data:`SCRIPTS` order
FONTS: dict[str, ScriptFonts] = {
    "greek": ScriptFonts(("greek",), "NotoSerif", "NotoSans", _NOTO),
    "cyrillic": ScriptFonts(("russian",), "NotoSerif", "NotoSans", _NOTO),
    "hebrew": ScriptFonts(("hebrew",), "NotoSerifHebrew", "NotoSansHebrew", _UPRIGHT),
    "arabic": ScriptFonts(("arabic",), "NotoNaskhArabic", "NotoSansArabic", _UPRIGHT),
    # one face for Han, kana and hangul (Noto CJK's simplified-Chinese face, index 2, has all three)
    "cjk": ScriptFonts(("japanese", "korean", "chinese"), "NotoSerifCJK", "NotoSansCJK",
                       "Ligatures=TeXOff,Extension=.ttc,UprightFont=*-Regular,BoldFont=*-Bold,ItalicFont=*-Regular,"
                       "BoldItalicFont=*-Bold,FontIndex=2", one_face=True),
}
