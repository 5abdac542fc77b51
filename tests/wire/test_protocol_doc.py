"""docs/protocol.md cannot drift from the code: its generated message catalogue must be the
one this build's wire definitions produce, and the check names what is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec

from scowl import protocol_doc, wire

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_the_document_lists_every_message_type_and_field_of_this_build():
    text = DOC.read_text()
    assert protocol_doc.problems(text) == []
    catalogue = protocol_doc.generated_part(text)
    for name, cls in wire.MESSAGE_TYPES.items():
        assert f"#### `{name}` ({cls.__name__})" in catalogue
        for i, f in enumerate(msgspec.structs.fields(cls)):
            assert f"| {i} | `{f.name}` |" in catalogue, (name, f.name)
        for _column, dtype in getattr(cls, "COLUMNS", ()):
            assert f"(`{dtype}`)" in catalogue


def test_a_missing_message_type_or_field_is_named():
    text = DOC.read_text()
    no_field = text.replace("| 6 | `charge_mw` |", "", 1)
    assert no_field != text
    assert any("`gen-status` field 6 `charge_mw` is missing" in p for p in protocol_doc.problems(no_field))
    start = text.index("#### `tree-delta`")
    no_type = text[:start] + text[text.index("#### ", start + 5):]
    assert "docs/protocol.md: message type `tree-delta` is missing" in protocol_doc.problems(no_type)
    stale = text.replace("| 1 | `address` | str | optional, default `''` |", "| 1 | `address` | str | required |", 1)
    assert stale != text and "regenerate it" in protocol_doc.problems(stale)[0]


def test_a_new_field_in_the_code_fails_the_check(monkeypatch):
    class Probe(wire.Message):
        n: int
        extra: str = ""

    monkeypatch.setitem(wire.MESSAGE_TYPES, "probe-for-doc-test", Probe)
    found = protocol_doc.problems(DOC.read_text())
    assert found == ["docs/protocol.md: message type `probe-for-doc-test` is missing"]


def test_the_command_checks_the_document():
    out = subprocess.run([sys.executable, "-m", "scowl", "protocol", "--check", str(DOC)], check=False,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([sys.executable, "-m", "scowl", "protocol", "--markdown"], check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "#### `gen-status` (GenStatus)" in out.stdout
