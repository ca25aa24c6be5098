"""The --format evaluator renders docker's common template forms like Go's text/template."""

from __future__ import annotations

import pytest

from cove.desktop.cli.formatter import render, tabwrite
from cove.desktop.cli.template import Template, TemplateError

DATA = {"A": {"B": "x"}, "L": ["1", "2"], "M": {"k": "v", "a": True}, "N": None, "H": "<none>",
        "P": {"n1": {"IPAddress": "10.0.0.2", "Sub": {"Deep": "d"}}}}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{.A.B}}", "x"),
        ("{{json .A}}", '{"B":"x"}'),
        ("{{json .H}}", '"\\u003cnone\\u003e"'),
        ("{{range .L}}<{{.}}>{{end}}", "<1><2>"),
        ('{{index .M "k"}}', "v"),
        ("{{.M.missing}}", "<no value>"),
        ("{{.M}}", "map[a:true k:v]"),
        ("{{.L}}", "[1 2]"),
        ("{{if .N}}yes{{else}}no{{end}}", "no"),
        ("{{range $k, $v := .M}}{{$k}}={{$v}};{{end}}", "a=true;k=v;"),
        ('{{join .L ","}}', "1,2"),
        ("{{.A.B | upper}}", "X"),
        ('{{printf "%-4s|" .A.B}}', "x   |"),
        ("a {{- \" b\" -}} c", "a bc"),
        ("{{with .A}}{{.B}}{{end}}", "x"),
        ('{{(index .P "n1").IPAddress}}', "10.0.0.2"),  # docker's doc: one network's IP
        ('{{(index .P "n1").Sub.Deep}}', "d"),
    ],
)
def test_template_renders_go_forms(source: str, expected: str) -> None:
    assert Template(source).execute(DATA) == expected


def test_method_with_argument_is_called() -> None:
    class Row:
        def Label(self, name: str) -> str:  # noqa: N802
            return {"k": "v"}.get(name, "")

    assert Template('{{.Label "k"}}').execute(Row()) == "v"


@pytest.mark.parametrize("source", ["{{nosuchfunc .}}", "{{range .L}}", "{{end}}"])
def test_bad_templates_are_rejected(source: str) -> None:
    with pytest.raises(TemplateError):
        Template(source)


def test_unknown_field_on_object_fails_at_execution() -> None:
    with pytest.raises(TemplateError):
        Template("{{.Foo}}").execute(object())


def test_table_format_adds_header_and_aligns_like_tabwriter() -> None:
    out = render("table {{.ID}}\\t{{.Name}}", [{"ID": "abc", "Name": "n1"}],
                 {"ID": "CONTAINER ID", "Name": "NAMES"})
    assert out == "CONTAINER ID   NAMES\nabc            n1\n"


def test_tabwrite_pads_to_min_width_ten() -> None:
    assert tabwrite([["A", "B"], ["cc", "d"]]) == "A         B\ncc        d\n"


def test_non_table_format_is_line_per_item_without_alignment() -> None:
    assert render("{{.A}}\\t{{.B}}", [{"A": "1", "B": "2"}], {}) == "1\t2\n"
