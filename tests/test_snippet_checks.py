"""The snippet checker reads text as nginx's tokenizer does: what looks like a block end inside
a string, a comment or a ``${variable}`` is not one, and a forbidden directive is found however
it is quoted."""

from __future__ import annotations

import pytest

from ingress2nginx.features.snippet_checks import continued_lines
from ingress2nginx.features.snippets import Verbatim, snippet_problem


@pytest.mark.parametrize(
    "snippet",
    [
        "add_header X-Snippet yes;",
        'return 200 "}}} {{{";',
        "return 200 '}';",
        'return 200 "a\\"}";',
        "set $greeting ${host}-x;",
        "return 200 a}b;",
        "add_header X y; # } { an unbalanced comment",
        "# only a comment",
        'if ($http_x_debug = "1") {\n    return 418;\n}',
        "location /x {\n\tif ($a) { return 403; }\n}",
        'return 200 "line one\nline two";',
        "",
    ],
)
def test_ordinary_snippets_pass(snippet: str) -> None:
    assert snippet_problem(snippet) is None


@pytest.mark.parametrize(
    ("snippet", "reason"),
    [
        ("}", "a } closes a block the snippet did not open"),
        ("} server { listen 81; }", "a } closes a block the snippet did not open"),
        ("location /x {", "a { is never closed"),
        ("add_header X y", "the last statement is not finished"),
        ('return 200 "open;', "a quoted string is never closed"),
        ('return 200 "a"b;', "followed by more text without a space"),
        ("return 200 x }", "unexpected } inside a statement"),
        (";", "a ; without a directive name"),
        ("include /etc/passwd;", "'include' is not allowed"),
        ("'include' /etc/passwd;", "'include' is not allowed"),
        ("INCLUDE x;", "'include' is not allowed"),
        ("location /x { include x; }", "'include' is not allowed"),
        ("load_module x.so;", "'load_module' is not allowed"),
        ("ssl_engine pkcs11;", "'ssl_engine' is not allowed"),
        ("access_by_lua_file /x.lua;", "'access_by_lua_file' is not allowed"),
        ("set_by_lua $x 'return 1';", "'set_by_lua' is not allowed"),
        ("lua_package_path x;", "'lua_package_path' is not allowed"),
        ("perl_require x.pm;", "'perl_require' is not allowed"),
        ("js_content main.handler;", "'js_content' is not allowed"),
        ("add_header X y;\r", "U+000D"),
        ("add_header X y;\x00", "U+0000"),
        ("add_header X y;\u2028", "U+2028"),
        ("add_header X y;\x85", "U+0085"),
    ],
)
def test_snippets_that_could_escape_or_run_code_are_refused(snippet: str, reason: str) -> None:
    problem = snippet_problem(snippet)
    assert problem is not None
    assert reason in problem


@pytest.mark.parametrize(
    ("snippet", "continued"),
    [
        ('return 200 "line one\nline two";', {1}),
        ('add_header X \\\n" ; return 200 $x; #', {1}),  # an escaped line feed
        ('add_header X y;\n# a "quote in a comment\nreturn 204;', set()),
        ("if ($a) {\n    return 403;\n}", set()),
    ],
)
def test_lines_that_begin_inside_a_token_are_not_indented(
    snippet: str, continued: set[int]
) -> None:
    """Indentation before such a line would become part of the token: after an escaped line
    feed, a quote that nginx read inside a word would open a string swallowing the config."""
    assert continued_lines(snippet) == continued
    lines = Verbatim("", heading="configuration-snippet of a/b", text=snippet).lines(2)[1:]
    for number, line in enumerate(lines):
        assert line.startswith(" ") != (number in continued or not line.strip())
