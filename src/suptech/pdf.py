"""What the platform's PDF reports share (the daily risk report, the institutions' data
quality report cards): the font (a CJK one for Chinese), tables, images, the document
with its footer, matplotlib drawn off screen in the report's font, and each page as a
PNG (PDFium)."""

from __future__ import annotations

import io
from pathlib import Path

#: A CJK font for the Chinese reports (Debian's fonts-wqy-microhei, which setup installs).
CJK_FONTS = (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
             Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"))


class ReportError(ValueError):
    pass


def font(language: str) -> str:
    """The PDF's font: Helvetica, or for Chinese the CJK font registered once."""
    if language != "zh":
        return "Helvetica"
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "WQY" not in pdfmetrics.getRegisteredFontNames():
        path = next((p for p in CJK_FONTS if p.exists()), None)
        if path is None:
            raise ReportError("the Chinese report needs a CJK font: install "
                              "fonts-wqy-microhei (scripts/setup.sh does)")
        pdfmetrics.registerFont(TTFont("WQY", str(path), subfontIndex=0))
    return "WQY"


class Charts:
    """Charts as PNG bytes (matplotlib, drawn off screen), in the report's font."""

    def __init__(self, font_name: str):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import font_manager

        self.plt = plt
        style = {"font.size": 8, "axes.spines.top": False, "axes.spines.right": False}
        if font_name == "WQY":
            path = next(p for p in CJK_FONTS if p.exists())
            font_manager.fontManager.addfont(str(path))
            style["font.family"] = font_manager.FontProperties(fname=str(path)).get_name()
        self.style = style

    def png(self, fig) -> bytes:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=160, bbox_inches="tight")
        self.plt.close(fig)
        return buf.getvalue()


def table(rows, font_name: str, widths, size: int = 8):
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    t = Table(rows, colWidths=widths, repeatRows=1)
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font_name, size),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c0c8d0")),
        ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return t


def image(png: bytes):
    from reportlab.lib.units import mm
    from reportlab.platypus import Image

    img = Image(io.BytesIO(png))
    scale = 170 * mm / img.imageWidth
    img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
    return img


def build(out: Path, story: list, font_name: str, footer_text: str, page_word,
          title: str) -> int:
    """`story` as an A4 PDF at `out`, `footer_text` and the page number (`page_word(n)`)
    at each page's foot; its number of pages."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    pages = []

    def footer(canvas, doc):
        canvas.setFont(font_name, 7)
        canvas.drawString(20 * mm, 10 * mm, footer_text)
        canvas.drawRightString(190 * mm, 10 * mm, page_word(doc.page))
        pages.append(doc.page)

    out.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(str(out), pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm, title=title,
                            author="suptech")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return len(pages)


def page_images(pdf: Path, folder: Path, prefix: str = "page") -> list[Path]:
    """Each page of `pdf` as `<prefix>-N.png` in `folder` (PDFium, 110 dpi)."""
    import pypdfium2 as pdfium

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    doc = pdfium.PdfDocument(str(pdf))
    try:
        for k in range(len(doc)):
            path = folder / f"{prefix}-{k + 1}.png"
            doc[k].render(scale=110 / 72).to_pil().save(path)
            out.append(path)
    finally:
        doc.close()
    return out


def download(make, filename: str):
    """The PDF `make(path)` writes, as an HTTP download named `filename`; a report with
    nothing to say (ReportError) is a 404 saying why."""
    import tempfile

    from fastapi.responses import Response

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.pdf"
        try:
            make(out)
        except ReportError as e:
            return Response(str(e), status_code=404, media_type="text/plain")
        body = out.read_bytes()
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})
