"""Ledger exports (CSV and XLSX), written as a stream: memory stays flat however many rows are exported.

The console and the shell export through here.  CSV carries a byte-order mark so that Excel reads the
Chinese as UTF-8.  XLSX is one sheet of inline strings deflated into the archive a thousand rows at a time:
the two libraries' streaming writers spend 5–7 µs of CPU per cell (xlsxwriter in constant-memory mode
14 s, openpyxl's write-only workbook about 19 s for 100,000 ledger rows of 24 cells), past the 15 s an
export of that size may take; this writer spends about a fifth of that.  openpyxl reads what it writes
back in the tests, as Excel and WPS do.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
BOM = "\ufeff"
# A cell Excel would read as a formula is written with a leading apostrophe (CSV injection).
FORMULA_START = ("=", "+", "-", "@")


def safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]], per_chunk: int = 500) -> Iterator[str]:
    """The CSV text in chunks of rows (for a streamed HTTP response or a file)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write(BOM)
    writer.writerow(header)
    for n, row in enumerate(rows, start=1):
        writer.writerow([safe(v) for v in row])
        if n % per_chunk == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def write_csv(out: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    for chunk in csv_chunks(header, rows):
        out.write(chunk)


def write_xlsx(path: Path | IO[bytes], header: Sequence[str], rows: Iterable[Sequence[Any]],
               title: str = "台账") -> None:
    """An XLSX workbook of one sheet, its rows deflated into the archive as they come (empty cells left out)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=XLSX_DEFLATE) as book:
        for name, part in _package(title).items():
            book.writestr(name, part)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as raw:
            sheet = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            sheet.write(f'{XML_HEAD}<worksheet xmlns="{SHEET_NS}"><sheetData>')
            sheet.write(_row(1, header))
            batch: list[str] = []
            for n, row in enumerate(rows, start=2):
                batch.append(_row(n, row))
                if len(batch) == 1000:
                    sheet.write("".join(batch))
                    batch.clear()
            sheet.write("".join(batch) + "</sheetData></worksheet>")
            sheet.flush()
            sheet.detach()


# Cell columns A, B, … (a ledger has fewer than 27), the XML text escapes, and characters XML 1.0 forbids.
COLUMN_LETTERS = [chr(ord("A") + i) for i in range(26)]
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _row(n: int, values: Sequence[Any]) -> str:
    """One row; an empty cell is left out, but for the last, which marks how wide the row is."""
    cells = []
    for letter, value in zip(COLUMN_LETTERS, values, strict=False):
        if isinstance(value, str):
            if value:
                cells.append(f'<c r="{letter}{n}" t="inlineStr"><is><t xml:space="preserve">{_xml(value)}</t></is></c>')
        elif isinstance(value, int | float) and not isinstance(value, bool):
            cells.append(f'<c r="{letter}{n}"><v>{value}</v></c>')
    last = f"{COLUMN_LETTERS[len(values) - 1]}{n}" if values else ""
    if last and not (cells and cells[-1].startswith(f'<c r="{last}"')):
        cells.append(f'<c r="{last}"/>')
    return f'<row r="{n}">{"".join(cells)}</row>'


def _xml(text: str) -> str:
    text = text.translate(_XML_ESCAPES)
    return _NOT_XML.sub("", text) if _NOT_XML.search(text) else text


XLSX_DEFLATE = 1  # the fastest level: the XML is repetitive, level 1 already shrinks it about tenfold
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _package(title: str) -> dict[str, str]:
    """The parts of the workbook besides its sheet: content types, relationships, the workbook, one style."""
    return {
        "[Content_Types].xml": (
            f'{XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/></Types>'),
        "_rels/.rels": (
            f'{XML_HEAD}<Relationships xmlns="{_REL_NS}"><Relationship Id="rId1" '
            f'Type="{_DOC_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'{XML_HEAD}<workbook xmlns="{SHEET_NS}" xmlns:r="{_DOC_REL}"><sheets>'
            f'<sheet name="{_xml(title)}" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'{XML_HEAD}<Relationships xmlns="{_REL_NS}">'
            f'<Relationship Id="rId1" Type="{_DOC_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_DOC_REL}/styles" Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": (
            f'{XML_HEAD}<styleSheet xmlns="{SHEET_NS}"><fonts count="1"><font><sz val="11"/>'
            '<name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/>'
            '<top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" '
            'fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
            'borderId="0" xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" '
            'builtinId="0"/></cellStyles></styleSheet>'),
    }


def write(fmt: str, path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write rows to a file in the format (csv or xlsx)."""
    if fmt == "xlsx":
        write_xlsx(path, header, rows)
        return
    with path.open("w", encoding="utf-8", newline="") as out:
        write_csv(out, header, rows)
