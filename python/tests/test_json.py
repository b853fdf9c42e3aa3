"""Pattern.from_json / to_json speak docs/json-schema.md exactly: the documented examples read,
write back equal, and bad files fail with the documented messages."""

import json
import re

import pytest

import permjit
from permjit import Layout, Pattern, PatternFile, SpanRef, causal, grid, local, rows, sink


def schema_examples(repo_root):
    text = (repo_root / "docs" / "json-schema.md").read_text()
    block = text.split("### Examples", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    # One example per top-level JSON value; they span lines, so parse them in sequence.
    decoder = json.JSONDecoder()
    examples, position = [], 0
    while True:
        match = re.compile(r"\S").search(block, position)
        if match is None:
            return examples
        value, position = decoder.raw_decode(block, match.start())
        examples.append(value)


def test_every_documented_example_round_trips(repo_root):
    examples = schema_examples(repo_root)
    assert len(examples) >= 12
    for example in examples:
        pattern = Pattern.from_json(json.dumps(example))
        again = Pattern.from_json(pattern.to_json())
        assert again == pattern
        assert json.loads(pattern.to_json()) == pattern.to_dict()


def test_the_documented_grid_head_file_equals_the_python_value(repo_root):
    text = (repo_root / "docs" / "json-schema.md").read_text()
    body = text.split("## The MMInference grid head", 1)[1].split("```json", 1)[1].split("```")[0]
    file = PatternFile.from_json(body)
    assert file.name == "mminference-grid-head"
    assert file.pattern == causal() & (sink(1024) | local(1024) | rows(SpanRef.last(60)) |
                                       grid(14, 0, 0))
    assert file.layout == Layout.text_vision_text(131072, 812, 60)
    assert PatternFile.from_json(file.to_json()).pattern == file.pattern


def test_example_files_read(repo_root):
    files = sorted((repo_root / "docs" / "examples").glob("*.json"))
    assert files
    for path in files:
        value = json.loads(path.read_text())
        if "permjit" not in value:
            continue
        loaded = PatternFile.load(path)
        assert Pattern.from_json(path.read_text()) == loaded.pattern


def test_to_json_is_the_canonical_cpp_form():
    # Fields in the canonical form are written in full and keys sorted (nlohmann's order).
    assert causal().to_json() == '{"kind":"causal"}'
    assert grid(14, 0, 0).to_json() == (
        '{"kind":"grid","phase_k":0,"phase_q":0,"span":{"modality":"vision"},"stride":14}')
    # A default left out on input is written back.
    assert Pattern.from_json('{"kind": "vertical_slash", "vertical": 4, "slash": 4}').to_dict()[
        "last_q"] == 64


@pytest.mark.parametrize("text, message", [
    ('{"kind": "union", "of": [{"kind": "causal"}, {"kind": "grid", "strid": 14}]}',
     "pattern.of[1]: unknown key 'strid'; allowed: kind, stride, phase_q, phase_k, span"),
    ('{"kind": "gird"}', "pattern.kind: unknown kind 'gird'; allowed: causal, sink"),
    ('{"kind": "sink", "n": "4"}', "pattern.n: expected an integer, got string"),
    ('{"kind": "local"}', "pattern.window: missing; required for kind 'local'"),
    ('{"permjit": 2, "pattern": {"kind": "causal"}}',
     "permjit: unsupported schema version 2; allowed versions: 1"),
])
def test_bad_json_fails_with_the_documented_message(text, message):
    with pytest.raises(permjit.InvalidPatternError) as error:
        Pattern.from_json(text)
    assert message in str(error.value)


def test_unparsable_json_is_an_invalid_pattern_error():
    with pytest.raises(permjit.InvalidPatternError, match="invalid JSON"):
        Pattern('{"kind": ')


def test_pattern_file_round_trip_with_layout(tmp_path):
    layout = Layout([("text", 0, 10), ("vision", 10, 40, (2, 3, 5)), ("text", 40, 48)])
    file = PatternFile(causal() & local(8), name="head", layout=layout)
    path = tmp_path / "head.json"
    file.save(path)
    again = PatternFile.load(path)
    assert (again.name, again.pattern, again.layout) == ("head", file.pattern, layout)
    assert again.layout.spans[1].frames == (2, 3, 5)
