"""The run's secrets, and the one place that removes them from text.

A password reaches output in many spellings: plain in a conninfo string, percent-encoded in a
URL, backslash-quoted by libpq, escaped by `repr` or JSON in a traceback. Every spelling of
every secret this process knows is replaced by `***`, wherever the suite writes text: the
terminal, pytest's log and the CLI's error lines.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from typing import Iterator, TextIO
from urllib.parse import quote, quote_plus

MASK = "***"
SHORT = 6  # a secret shorter than this is masked only where a password is written
# Each spelling of each secret this process holds (a password from --database-url, a container's
# own password), and what replaces it.
_secrets: dict[str, str] = {}
_longest_first: list[str] = []
# Where a password is written: in a URL, a conninfo string, a dict of connection parameters.
_SETTINGS = ((":", "@"), ("password=", " "), ("password=", "'"), ("password=", '"'), ("'password': '", "'"),
             ('"password": "', '"'))


def spellings(secret: str) -> dict[str, str]:
    """Every form in which `secret` can appear in text the suite writes, and its masked form."""
    written = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), quote(secret, safe=" +"),
               secret.replace("\\", "\\\\").replace("'", "\\'")}  # the last: libpq conninfo quoting
    # A traceback shows each of those again inside a Python or JSON string literal.
    forms = written | {repr(form)[1:-1] for form in written} | {json.dumps(form)[1:-1] for form in written}
    forms |= {form.lower() for form in forms if "%" in form}  # %2f as well as %2F
    if len(secret) < SHORT:
        # Masking every "pw" would garble all output: a short secret is masked in its settings only.
        return {f"{before}{form}{after}": f"{before}{MASK}{after}" for form in forms for before, after in _SETTINGS}
    # pytest shortens a long argument's repr to its start + "..." + its end, maybe inside the secret.
    cut = {form[:k] + "..." for form in forms for k in range(3, len(form))}
    cut |= {"..." + form[-k:] for form in forms for k in range(3, len(form))}
    return {form: MASK for form in forms | cut if form}


def register(secret: str | None) -> None:
    if secret:
        _secrets.update(spellings(secret))
        # Longest first, so a spelling that contains another is replaced whole.
        _longest_first[:] = sorted(_secrets, key=len, reverse=True)


def register_url(url) -> None:
    """Remember the password of a database URL (a string or a SQLAlchemy URL)."""
    from sqlalchemy.engine import make_url

    try:
        register(make_url(url).password if isinstance(url, str) else url.password)
    except Exception:  # not a URL: the URL check reports it; nothing to remember
        return


def redact(text: str) -> str:
    for form in _longest_first:
        if form in text:
            text = text.replace(form, _secrets[form])
    return text


# Characters a terminal acts on instead of showing: C0 controls but newline and tab (ESC starts a
# sequence that can clear the screen, CR overwrites a line), DEL, C1 controls, and the bidirectional
# overrides that make a line read other than it is. Text from a results file can hold any of them.
_CONTROLS = {code: repr(chr(code))[1:-1] for code in (*range(0x20), *range(0x7f, 0xa0)) if chr(code) not in "\n\t"}
_CONTROLS |= {code: f"\\u{code:04x}" for code in (0x200e, 0x200f, *range(0x202a, 0x202f), *range(0x2066, 0x206a))}


_ONE_LINE = {**_CONTROLS, ord("\n"): "\\n", ord("\t"): "\\t"}


def printable(text, limit: int | None = None, *, one_line: bool = False) -> str:
    """`text` as a terminal shows it literally: every control character escaped (as repr writes it),
    newlines and tabs too when it is `one_line` (a name in a line or a table cell), cut to `limit`
    characters. Every terminal line of the sessionbench command passes through it."""
    text = str(text).translate(_ONE_LINE if one_line else _CONTROLS)
    return text if limit is None or len(text) <= limit else text[:limit - 3] + "..."


class RedactingStream(io.TextIOBase):
    """A text stream that writes whole lines through `redact`, so no secret is split in two; to a
    terminal (`printable=True`) with every control character escaped, so no text from a file can act
    on the terminal."""

    def __init__(self, target: TextIO, *, owns: bool = False, printable: bool = False):
        super().__init__()
        self.target, self._pending, self.owns, self._printable = target, "", owns, printable

    def _clean(self, text: str) -> str:
        text = redact(text)
        return printable(text) if self._printable else text

    # A log (owned) on a disk that fills up stops taking text instead of failing the run it records.
    lost: OSError | None = None

    def _write(self, text: str) -> None:
        if self.lost is not None:
            return
        try:
            self.target.write(text)
        except OSError as exc:
            if not self.owns:
                raise
            self.lost = exc

    def write(self, text: str) -> int:
        self._pending += text
        complete, newline, rest = self._pending.rpartition("\n")
        if newline:
            self._write(self._clean(complete + newline))
            self._pending = rest
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._write(self._clean(self._pending))
            self._pending = ""
        if not self.target.closed and self.lost is None:
            try:
                self.target.flush()
            except OSError as exc:
                if not self.owns:
                    raise
                self.lost = exc

    def close(self) -> None:
        # Also called when the wrapper is garbage collected: a borrowed stream (stdout) stays open.
        if not self.closed:
            if not self.target.closed:
                self.flush()
            if self.owns:
                with contextlib.suppress(OSError):  # the text it could not take is already counted lost
                    self.target.close()
            super().close()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self):
        return getattr(self.target, "encoding", "utf-8")


def open_private_log(path) -> RedactingStream:
    """A new log file readable by its owner only, written through `redact`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)  # an existing file keeps its mode on open; this one must not
    return RedactingStream(os.fdopen(fd, "w"), owns=True)


def _told(exc: BaseException):
    """A fault bench.faults recognises (out of memory, no thread), or None; never fails itself:
    short of memory, even the import that tells it may fail."""
    try:
        from bench.faults import known_fault

        return known_fault(exc, "the command")
    except Exception:  # noqa: BLE001 - the traceback is printed instead
        return None


@contextlib.contextmanager
def redacted_output() -> Iterator[None]:
    """stdout and stderr through `redact` meanwhile, an unexpected traceback included."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(saved[0], printable=True), RedactingStream(saved[1], printable=True)
    try:
        yield
    except Exception as exc:
        told = _told(exc)
        if told is not None:  # the cause the operating system gave (memory, threads): one line, what to try
            print(f"sessionbench: error: {told.message}\n  try: {told.hint}", file=sys.stderr)
            raise SystemExit(2) from None
        traceback.print_exc()  # what Python would print on exit, but through the redacting stderr
        raise SystemExit(1) from None
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved
