"""Doorplate QR codes (二维码门牌), drawn locally with segno.

The code carries one absolute URL, ``/populations/h/<doorplate_token>/``: a random token
that names nothing by itself. Whoever scans it must sign in, and only a user whose scope
holds the household is sent on to it (``populations.views.doorplate``).
"""

import io

import segno
from django.urls import reverse
from django.utils.html import escape

# Error correction level M survives a scuffed or partly weathered plate (15% of modules).
ERROR_LEVEL = "m"
BORDER = 4  # the quiet zone the QR standard asks for, in modules
PNG_SCALE = 10  # pixels per module: about 410 px for the usual version-4 code
TEXT_BAND = 16  # modules of plate below the code for the doorplate number
_CJK_START = 0x2E80


def doorplate_url(request, household) -> str:
    """The absolute URL a household's doorplate code carries."""
    return request.build_absolute_uri(reverse("populations:doorplate", args=[household.doorplate_token]))


def _code(url: str) -> segno.QRCode:
    return segno.make(url, error=ERROR_LEVEL, micro=False)


def doorplate_png(url: str) -> bytes:
    buffer = io.BytesIO()
    _code(url).save(buffer, kind="png", scale=PNG_SCALE, border=BORDER, dark="#000", light="#fff")
    return buffer.getvalue()


def _fitted_font_size(text: str, width: float, largest: float) -> float:
    """A font size at which ``text`` fits ``width``: CJK glyphs take about 1 em, others about 0.6."""
    ems = sum(1.0 if ord(ch) >= _CJK_START else 0.6 for ch in text) or 1.0
    return round(min(largest, (width - 2) / ems), 2)


def doorplate_svg(url: str, *, doorplate: str, number: str, title: str = "") -> str:
    """A whole plate as SVG: the code on white, the doorplate number below it and, when
    the doorplate differs, the household number in small type. Usable standalone (it
    declares its namespace) and inline in HTML."""
    code = _code(url)
    size, _height = code.symbol_size(scale=1, border=BORDER)
    inner = code.svg_inline(scale=1, border=BORDER, omitsize=True, dark="#000", light="#fff")
    # Place segno's drawing in the top square of the plate (nested <svg> scales by its viewBox).
    inner = inner.replace("<svg ", f'<svg x="0" y="0" width="{size}" height="{size}" ', 1)
    main = doorplate or number
    lines = [
        f'<text x="{size / 2}" y="{size + 6.5}" font-size="{_fitted_font_size(main, size, 7)}" '
        f'text-anchor="middle" font-weight="700" fill="#000">{escape(main)}</text>'
    ]
    if doorplate and number:
        lines.append(
            f'<text x="{size / 2}" y="{size + 12.5}" font-size="{_fitted_font_size(number, size, 4)}" '
            f'text-anchor="middle" fill="#333">{escape(number)}</text>'
        )
    height = size + TEXT_BAND
    label = escape(title or main)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {height}" class="doorplate-svg" '
        f'role="img" aria-label="{label}">'
        f"<title>{label}</title>"
        f'<rect width="{size}" height="{height}" fill="#fff"/>'
        f"{inner}"
        f'<g font-family="Noto Sans CJK SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif">{"".join(lines)}</g>'
        "</svg>"
    )
