"""The weekly report as PDF: its standalone HTML printed by headless Chromium (A4 landscape, the page's
print stylesheet), offline: the document holds everything it shows (styles inlined, charts as data URIs)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-pdf-header-footer",
)
TIMEOUT_S = 120.0


class PdfError(RuntimeError):
    """No Chromium to print with, or it printed nothing."""


def find_chromium(configured: Path | None) -> Path:
    """The Chromium to print with: ``configured``, else ``chromium`` (or ``chromium-browser``) on the PATH."""
    found = (
        configured
        if configured is not None
        else next((Path(p) for name in ("chromium", "chromium-browser") if (p := shutil.which(name))), None)
    )
    if found is None or not found.is_file():
        raise PdfError("no Chromium to print the PDF with: install chromium or set STREETSCAN_CHROMIUM_PATH")
    return found


def print_pdf(html: Path, pdf: Path, chromium: Path) -> None:
    """Print the HTML file ``html`` to ``pdf`` with Chromium, in a throwaway profile; PdfError on failure."""
    with tempfile.TemporaryDirectory(prefix="streetscan-chromium-") as profile:
        command = [str(chromium), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf}"]
        try:
            done = subprocess.run(
                [*command, html.resolve().as_uri()], capture_output=True, timeout=TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfError(f"Chromium did not print {html.name}: {exc}") from None
    if not pdf.is_file() or pdf.read_bytes()[:5] != b"%PDF-":
        tail = done.stderr.decode(errors="replace")[-500:]
        raise PdfError(f"Chromium printed no PDF of {html.name} (exit {done.returncode}): {tail}")
