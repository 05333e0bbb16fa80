"""Text from pictures of pages: Debian's tesseract, one page at a time.

Chosen over a PyPI engine whose wheel ships its models (RapidOCR, PP-OCR on onnxruntime):
on a 300-DPI page of debian-faq, tesseract read 98.5 % of the words in 6 s, RapidOCR 88.6 %
in 32 s (it glues words of headings together) with 5x the memory. tesseract runs with one
thread: on a loaded 2-core machine its OpenMP threads made the same page take 44 s.

Only pages without a text layer come here (see parse.py); images are greyscale and capped in
pixels, so a poster-sized page cannot fill the parser's memory.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ingest.errors import UnreadableDocument
from ingest.formats import TESSERACT, Format
from ingest.tools import find_tool, first_line, run_tool
from rag_core.types import Block, ParsedDocument

MAX_OCR_PIXELS = 40_000_000  # ~A2 at 300 DPI; larger pages are scaled down first
MAX_IMAGE_PIXELS = 150_000_000  # a bigger image is refused before it is decoded (A0, 400 DPI)

TESSERACT_MISSING = (
    f"OCR needs tesseract, which is not installed (apt-get install {TESSERACT.packages})"
)


@dataclass(frozen=True, slots=True)
class OcrOptions:
    languages: str = "spa+eng"  # tesseract's -l: "eng", "spa+eng"; empty: OCR off
    dpi: int = 200  # PDF pages are rendered at this resolution


def ocr_image(image: Any, options: OcrOptions, timeout_s: float, dpi: int | None = None) -> str:
    """A PIL image -> its text (may be empty). `timeout_s` bounds this page; the job's own
    alarm bounds the whole file."""
    tesseract = find_tool(TESSERACT.program, TESSERACT_MISSING)
    _check_languages(tesseract, options.languages)
    image = _prepared(image)
    buffer = io.BytesIO()
    image.save(buffer, format="PPM")  # uncompressed: nothing to encode or decode
    argv = [tesseract, "stdin", "stdout", "-l", options.languages]
    if dpi:
        argv += ["--dpi", str(dpi)]
    done = run_tool(argv, timeout_s, stdin=buffer.getvalue(), env={"OMP_THREAD_LIMIT": "1"})
    if done.returncode != 0:
        raise UnreadableDocument(f"tesseract failed: {first_line(done.stderr)}")
    return done.stdout.decode("utf-8", errors="replace").replace("\x0c", "").strip()


def _prepared(image: Any) -> Any:
    """Greyscale on white (a transparent background would turn black), at most
    MAX_OCR_PIXELS."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, "white")
        image = Image.alpha_composite(background, rgba)
    image = image.convert("L")
    pixels = image.width * image.height
    if pixels > MAX_OCR_PIXELS:
        factor = math.sqrt(MAX_OCR_PIXELS / pixels)
        size = (max(1, int(image.width * factor)), max(1, int(image.height * factor)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image


@lru_cache(maxsize=8)
def _installed_languages(tesseract: str) -> frozenset[str]:
    done = run_tool([tesseract, "--list-langs"], 60)
    lines = done.stdout.decode("utf-8", errors="replace").splitlines()
    return frozenset(line.strip() for line in lines[1:] if line.strip())


def _check_languages(tesseract: str, languages: str) -> None:
    missing = [lang for lang in languages.split("+") if lang not in _installed_languages(tesseract)]
    if missing:
        packages = " ".join(f"tesseract-ocr-{lang.lower()}" for lang in missing)
        raise UnreadableDocument(
            f"OCR language {'+'.join(missing)} is not installed (apt-get install {packages})"
        )


# ---------------------------------------------------------------- PDF pages


def shows_an_image(page: Any) -> bool:
    """Whether a page without text is a scan (it shows an image) rather than blank. Pages
    with any text at all are never OCRed (the caller checks)."""
    import pypdfium2.raw as pdfium_c

    images = page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=4)
    return next(images, None) is not None


def ocr_pdf_page(page: Any, options: OcrOptions, timeout_s: float) -> str:
    width, height = page.get_size()
    scale = options.dpi / 72
    pixels = width * height * scale * scale
    if pixels > MAX_OCR_PIXELS:
        scale *= math.sqrt(MAX_OCR_PIXELS / pixels)
    image = page.render(scale=scale, grayscale=True).to_pil()
    return ocr_image(image, options, timeout_s, dpi=round(scale * 72))


# ---------------------------------------------------------------- image files


def parse_image(path: Path, row: Format, options: OcrOptions, timeout_s: float) -> ParsedDocument:
    """A PNG/JPEG/TIFF scan; each frame of a multi-page TIFF is a page."""
    if not options.languages:
        raise UnreadableDocument("image file and OCR is off (RAGDESK_OCR_LANGUAGES is empty)")
    find_tool(TESSERACT.program, TESSERACT_MISSING)
    blocks = [
        Block(text=text, page=number)
        for number, text in _frames_text(path, options, timeout_s)
        if text.strip()
    ]
    if not blocks:
        raise UnreadableDocument("no readable text in the image (OCR found none)")
    return ParsedDocument(row.name, path.stem.replace("_", " ").strip() or path.name, blocks)


def _frames_text(path: Path, options: OcrOptions, timeout_s: float) -> Iterator[tuple[int, str]]:
    from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

    try:
        with Image.open(path) as image:  # reads the header only
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise UnreadableDocument(
                    f"image of {image.width:,} x {image.height:,} pixels: too large to read "
                    f"safely (limit {MAX_IMAGE_PIXELS / 1e6:,.0f} megapixels)"
                )
            for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
                frame.load()
                dpi = frame.info.get("dpi", (0, 0))[0]
                upright = ImageOps.exif_transpose(frame)
                known_dpi = round(dpi) if dpi >= 50 else None
                yield number, ocr_image(upright, options, timeout_s, dpi=known_dpi)
    except Image.DecompressionBombError as exc:  # PIL's own check, on every TIFF frame
        raise UnreadableDocument(f"image too large to read safely: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableDocument(f"damaged or truncated image: {exc}") from exc
