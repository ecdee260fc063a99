"""rules/detectors.yaml: the shipped file loads; mistakes name file, line and field."""

from __future__ import annotations

import textwrap

import pytest

from agent.detect import Scanner, load_detector_config
from agent.detect.config import default_path
from agent.extract.model import Segment
from agent.yamlload import ConfigError


def _write(tmp_path, text: str):
    p = tmp_path / "detectors.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_shipped_file_loads():
    cfg = load_detector_config()
    assert "ssn" in cfg.entities.SSN.context
    assert "CONFIDENTIAL" in cfg.markings.banners
    assert load_detector_config(default_path()) == cfg


@pytest.mark.parametrize("text,line,field,msg", [
    # yamlload names the line where the offending value starts
    ("version: 1\nwindw:\n  before: 10\n", 3, "windw", "unknown field"),
    ("version: 1\nwindw: 10\n", 2, "windw", "unknown field"),
    ("entities:\n  SSN:\n    context: [ssn]\n  SSNN:\n    context: [x]\n", 5,
     "entities.SSNN", "unknown field"),
    ("entities:\n  SSN:\n    contxt: [ssn]\n", 3, "entities.SSN.contxt", "unknown field"),
    ("markings:\n  banners:\n    - CONFIDENTIAL\n    - Internal\n", 3, "markings.banners",
     "upper case"),
    ("window:\n  before: -5\n", 2, "window.before", "greater than or equal"),
    ("dictionaries:\n  - name: codes\n    entity: CODENAME\n    terms: [x]\n", 3,
     "dictionaries[0].entity", "unknown entity type"),
    ("negative_context: [order, '--']\n", 1, "negative_context", "letter or digit"),
    ("secrets:\n  min_token_entropy: lots\n", 2, "secrets.min_token_entropy", "number"),
    ("window: {before: 10}\nwindow: {after: 5}\n", 2, "window", "duplicate key"),
])
def test_errors_name_file_line_field(tmp_path, text, line, field, msg):
    p = _write(tmp_path, text)
    with pytest.raises(ConfigError) as ei:
        load_detector_config(p)
    issue = ei.value.issues[0]
    assert issue.file == str(p) and issue.line == line and issue.field == field
    assert msg in issue.message
    assert str(ei.value).startswith(f"{p}:{line}: {field}: ")


def test_all_errors_reported_at_once(tmp_path):
    p = _write(tmp_path, """\
        windw: {}
        entities:
          SSNN: {}
        markings:
          banners: [lower]
        """)
    with pytest.raises(ConfigError) as ei:
        load_detector_config(p)
    assert {(i.line, i.field) for i in ei.value.issues} == {
        (1, "windw"), (3, "entities.SSNN"), (5, "markings.banners")}


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_detector_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="empty"):
        load_detector_config(_write(tmp_path, ""))
    with pytest.raises(ConfigError, match=r"detectors.yaml:2: YAML syntax error"):
        load_detector_config(_write(tmp_path, "a: [1,\nb: ]]\n"))


def test_configuration_changes_detection(tmp_path):
    p = _write(tmp_path, """\
        entities:
          SSN:
            context: [taxpayer number]
        markings:
          banners: [PROJECT NIGHTJAR]
        dictionaries:
          - name: cases
            terms: [in re sealed matter]
        secrets:
          password_keys: [secretword]
        """)
    sc = Scanner(load_detector_config(p))

    def types(text):
        return [f.type for f in sc.scan([Segment(text.encode(), "t")]).findings]

    assert types("taxpayer number 536225555") == ["SSN"]
    assert types("SSN 536225555") == []                       # 'ssn' is no longer a context word
    assert types("PROJECT NIGHTJAR status") == ["CONFIDENTIAL_MARKING"]
    assert types("CONFIDENTIAL") == []
    assert types("In re Sealed Matter of X") == ["CONFIDENTIAL_MARKING"]
    assert types("secretword: hunter22") == ["PASSWORD"]
    assert types("password: hunter22") == []
