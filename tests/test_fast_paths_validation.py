"""Each shortcut validation takes for the common case answers exactly what the general code
answers (paths, fields, labels, path entries, options)."""

from __future__ import annotations

import dataclasses
from urllib.parse import unquote_to_bytes

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingress2nginx.core import grammar
from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import ObjectRef, shown
from ingress2nginx.features import DEFAULT_OPTIONS, IngressOptions, _options
from ingress2nginx.normalize import metadata, paths, validating
from ingress2nginx.normalize.fields import Report, json_type, keyed, utf8_length
from ingress2nginx.normalize.ingress_view import HTTPPath, ServiceBackend

_REF = ObjectRef("Ingress", "default", "site")


def _literal_path_problem_in_full(path: str) -> str | None:
    if not path.startswith("/"):
        return "must be an absolute path (start with '/')"
    if len(path) > paths.PATH_MAX_LENGTH:
        return f"must be no more than {paths.PATH_MAX_LENGTH} characters"
    problem = grammar.refused_characters(path) or paths._path_character_problem(path)
    if problem:
        return problem
    try:
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return "percent-escapes must decode to UTF-8 text"
    refused = grammar.refused_characters(decoded)
    if refused:
        return f"once percent-decoded, {refused}"
    return _dot_segment_problem_in_full(path, decoded)


def _dot_segment_problem_in_full(path: str, decoded: str) -> str | None:
    after = "" if decoded == path else " once percent-decoded"
    for sequence in ("//", "/./", "/../"):
        if sequence in decoded:
            return f"must not contain '{sequence}'{after}"
    for suffix in ("/..", "/."):
        if decoded.endswith(suffix):
            return f"must not end with '{suffix}'{after}"
    return None


_PATHS = st.one_of(
    st.text("/.%2fFe9aA-_~!$&'()*+,;=:@? #\\\n\u00e9", max_size=16),
    st.text(max_size=16).map(lambda text: "/" + text),
    st.sampled_from(["/", "/api", "/a/../b", "/a/.", "//", "/%2e%2e/", "/caf%C3%A9", "/a" * 1025]),
)


@settings(max_examples=2000, deadline=None)
@given(_PATHS)
def test_a_plain_path_is_checked_and_decoded_as_any_path(path: str) -> None:
    problem = paths._literal_path_problem(path)
    assert problem == _literal_path_problem_in_full(path)
    if problem is None and path:
        assert paths.location_path(path) == unquote_to_bytes(path).decode("utf-8")


def _path_problem_in_full(path: str, path_type: str) -> str | None:
    if path_type not in paths.PATH_TYPES:
        return f"pathType must be one of {', '.join(paths.PATH_TYPES)}"
    if path == "" and path_type == paths.IMPLEMENTATION_SPECIFIC:
        return None
    sign = paths.regex_sign(path)
    if sign is not None and path_type != paths.IMPLEMENTATION_SPECIFIC:
        return (
            f"looks like a regular expression ({shown(sign)}), but pathType {path_type} matches"
            " the path as written: use pathType ImplementationSpecific with the annotation"
            ' nginx.ingress.kubernetes.io/use-regex: "true"'
        )
    return _literal_path_problem_in_full(path)


_PATH_TYPE_NAMES = st.sampled_from([*paths.PATH_TYPES, "prefix", ""])


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_PATHS, st.text("/-._~a0*+$)", max_size=12)), _PATH_TYPE_NAMES)
@example("/a" * 1025, "Prefix")
@example("/a/..", "Exact")
@example("/a.*", "Prefix")
def test_a_quiet_path_is_checked_as_any_path(path: str, path_type: str) -> None:
    assert paths.path_problem(path, path_type) == _path_problem_in_full(path, path_type)


def _text_in_full(report: Report, path: str, value: object, required: bool) -> str | None:
    if value is None or (required and value == ""):
        if required:
            report.add(path, "is required", Code.INVALID_NAME)
        return None
    if not isinstance(value, str):
        report.add(path, f"must be a string, not {json_type(value)}", Code.INVALID_NAME)
        return None
    refused = grammar.refused_characters(value)
    if refused:
        report.invalid(path, value, refused, Code.INVALID_CHARACTER)
        return None
    return value


_STRINGS = st.one_of(
    st.text(max_size=8),
    st.text("ab \t\n\x7f\x85\u2028\u202e\ud800\u00e9", max_size=6),
    st.characters(max_codepoint=0x2070).map(str),
)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_STRINGS, st.none(), st.integers()), st.booleans())
def test_a_printable_ascii_field_is_read_as_any_field(value: object, required: bool) -> None:
    fast, full = Report(_REF), Report(_REF)
    read = fast.text("f", value, Code.INVALID_NAME, required=required)
    assert read == _text_in_full(full, "f", value, required)
    assert fast.problems == full.problems


@settings(max_examples=2000, deadline=None)
@given(_STRINGS)
def test_an_ascii_length_in_utf8_is_its_length(text: str) -> None:
    assert utf8_length(text) == len(text.encode("utf-8", "surrogatepass"))


def _check_labels_in_full(report: Report, labels: dict[object, object]) -> None:
    for key, value in labels.items():
        path = keyed("metadata.labels", key)
        name = report.text(path, key, Code.INVALID_LABEL)
        if name is not None and not grammar.is_qualified_name(name):
            report.invalid(path, name, metadata._QUALIFIED_REASON, Code.INVALID_LABEL)
        text = report.text(path, value, Code.INVALID_LABEL)
        if text is not None and not grammar.is_label_value(text):
            report.invalid(path, text, metadata._LABEL_VALUE_REASON, Code.INVALID_LABEL)


_LABEL_TEXT = st.one_of(
    st.sampled_from(["app", "app.kubernetes.io/name", "a/b", "-a", "a" * 64, "", "A_b.c"]),
    _STRINGS,
    st.integers(),
)


@settings(max_examples=2000, deadline=None)
@given(st.dictionaries(_LABEL_TEXT, st.one_of(_LABEL_TEXT, st.none()), max_size=4))
def test_a_valid_label_is_checked_as_any_label(labels: dict[object, object]) -> None:
    fast, full = Report(_REF), Report(_REF)
    metadata._check_labels(fast, labels)
    _check_labels_in_full(full, labels)
    assert fast.problems == full.problems


def _check_http_path_in_full(report: Report, path: str, raw: object) -> HTTPPath | None:
    entry = report.entry(path, raw, Code.INVALID_PATH)
    if entry is None:
        return None
    path_type = validating._check_path_type(report, f"{path}.pathType", entry.get("pathType"))
    raw_value = entry.get("path")
    value = report.text(f"{path}.path", "" if raw_value is None else raw_value, Code.INVALID_PATH)
    if path_type is not None and value is not None:
        validating._check_path_value(report, f"{path}.path", value, path_type)
    raw_backend = entry.get("backend")
    backend = None
    if raw_backend is None:
        report.add(f"{path}.backend", "is required", Code.INVALID_BACKEND)
    else:
        backend = validating._check_backend(report, f"{path}.backend", raw_backend)
    if path_type is None or value is None or backend is None:
        return None
    return HTTPPath(value, validating._PATH_TYPES[path_type], backend, path)


_ODD = st.one_of(st.none(), st.booleans(), st.integers(-1, 3), st.just([]), st.just("x\n"))
_PORT_NUMBERS = st.one_of(st.sampled_from([80, 0, 65535, 65536, 443.0, "80"]), _ODD)
_PORT_NAMES = st.one_of(st.sampled_from(["http", "", "HTTP", "a--b", "-a", "1", "a" * 16]), _ODD)
_PORTS = st.one_of(
    st.fixed_dictionaries({"number": _PORT_NUMBERS}),
    st.fixed_dictionaries({"name": _PORT_NAMES}),
    st.fixed_dictionaries({}, optional={"number": _PORT_NUMBERS, "name": _PORT_NAMES}),
    _ODD,
)
_SERVICE_NAMES = st.one_of(st.sampled_from(["app", "", "App", "1app", "a" * 64, "a-"]), _ODD)
_SERVICES = st.one_of(
    st.fixed_dictionaries({"name": _SERVICE_NAMES, "port": _PORTS}),
    st.fixed_dictionaries({}, optional={"name": _SERVICE_NAMES, "port": _PORTS}),
    _ODD,
)
_BACKENDS = st.one_of(
    st.fixed_dictionaries({"service": _SERVICES}),
    st.fixed_dictionaries(
        {},
        optional={
            "service": _SERVICES,
            "resource": st.one_of(st.just({"kind": "Bucket"}), _ODD),
            "serviceName": st.just("app"),
        },
    ),
    _ODD,
)
_ENTRY_PATHS = st.one_of(_PATHS, _ODD, st.sampled_from(["", "/", "/a.*", "/api(/|$)(.*)"]))
_ENTRY_PATH_TYPES = st.one_of(_PATH_TYPE_NAMES, _ODD)
_USUAL_PORTS = st.one_of(
    st.fixed_dictionaries({"number": st.integers(-1, 70000)}),
    st.fixed_dictionaries({"name": st.sampled_from(["http", "h2c", "a--b", "x" * 16])}),
    st.fixed_dictionaries({"name": st.just(""), "number": st.sampled_from([80, None, True])}),
)
_USUAL_ENTRIES = st.fixed_dictionaries(
    {
        "path": st.one_of(st.sampled_from(["/", "/api", "", "/a/..", "/caf%C3%A9"]), _PATHS),
        "pathType": st.sampled_from(paths.PATH_TYPES),
        "backend": st.fixed_dictionaries(
            {"service": st.fixed_dictionaries({"name": st.just("app"), "port": _USUAL_PORTS})}
        ),
    }
)
_ENTRIES = st.one_of(
    _USUAL_ENTRIES,
    st.fixed_dictionaries(
        {"path": _ENTRY_PATHS, "pathType": _ENTRY_PATH_TYPES, "backend": _BACKENDS}
    ),
    st.fixed_dictionaries(
        {},
        optional={"path": _ENTRY_PATHS, "pathType": _ENTRY_PATH_TYPES, "backend": _BACKENDS},
    ),
)


@settings(max_examples=3000, deadline=None)
@given(_ENTRIES)
@example(
    {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": "a", "port": {"number": 80}}},
    }
)
@example(
    {
        "pathType": "ImplementationSpecific",
        "backend": {"service": {"name": "a", "port": {"name": "http"}}},
    }
)
def test_a_plain_http_path_is_read_as_any_http_path(entry: dict[str, object]) -> None:
    report = Report(_REF)
    full = _check_http_path_in_full(report, "p", entry)
    plain = validating._plain_http_path("p", entry)
    if plain is not None:
        assert (plain, report.problems) == (full, [])
    fast = Report(_REF)
    assert (validating._check_http_path(fast, "p", entry), fast.problems) == (full, report.problems)


def test_the_usual_http_path_takes_the_short_way() -> None:
    backend = {"service": {"name": "app", "port": {"number": 80}}}
    plain = validating._plain_http_path(
        "p", {"path": "/api", "pathType": "Prefix", "backend": backend}
    )
    assert plain == HTTPPath(
        "/api", validating._PATH_TYPES["Prefix"], ServiceBackend("app", 80), "p"
    )


_GROUP_CHANGES = st.sampled_from(
    [
        (group.name, type(getattr(DEFAULT_OPTIONS, group.name)))
        for group in dataclasses.fields(IngressOptions)
        if group.init
    ]
).flatmap(
    lambda named: st.tuples(
        st.just(named[0]),
        st.dictionaries(
            st.sampled_from([attribute.name for attribute in dataclasses.fields(named[1])]),
            st.one_of(st.none(), st.integers(), st.text(max_size=3)),
            min_size=1,
        ),
    )
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(_GROUP_CHANGES, max_size=4).map(dict))
def test_options_are_the_defaults_replaced(values: dict[str, dict[str, object]]) -> None:
    groups = {
        name: dataclasses.replace(getattr(DEFAULT_OPTIONS, name), **changes)
        for name, changes in values.items()
    }
    assert _options(values) == dataclasses.replace(DEFAULT_OPTIONS, **groups)
