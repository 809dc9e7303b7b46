"""Process packages (engine.packages) and the package check (engine.checking): a .zip, a directory or the
files of one upload are read without trusting them, and the check reports every problem of the package,
grouped, with errors apart from warnings."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from engine import WorkflowEngine, read_path, read_paths, read_upload
from engine.checking import check_package
from engine.domain import Actor, Role
from engine.errors import DiagramRejectedError
from engine.packages import MAX_MEMBER_BYTES, MAX_MEMBERS, read_directory, read_zip

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (ROOT / "bpmn" / "launch_gate.bpmn").read_bytes()
# the shipped diagram's form files, as members beside it
SHIPPED_FORMS = [(p.name, p.read_bytes()) for p in sorted((ROOT / "forms" / "launch_gate").glob("*.json"))]
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
ADMIN = Actor("admin", frozenset({Role.ADMIN}))


def _zip(members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _messages(package_problems: object) -> list[str]:
    return [p.message for p in package_problems]  # type: ignore[attr-defined]


def test_read_zip_sorts_diagrams_from_other_files() -> None:
    package = read_zip(_zip({"launch_gate.bpmn": SHIPPED, "forms/a.json": b"{}"}), source="p.zip")
    assert [d.name for d in package.diagrams] == ["launch_gate.bpmn"]
    assert [f.name for f in package.files] == ["forms/a.json"]
    assert package.problems == ()


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("../evil.bpmn", "leaves the package"),
        ("/etc/evil.bpmn", "absolute path"),
        ("C:/evil.bpmn", "absolute path"),
        ("forms\\..\\evil.json", "backslash"),
        ("a\nb.bpmn", "control characters"),
    ],
)
def test_read_zip_refuses_unsafe_member_names(name: str, words: str) -> None:
    package = read_zip(_zip({name: b"x", "ok.bpmn": SHIPPED}), source="p.zip")
    assert [(p.file, words in p.message) for p in package.problems] == [(name, True)]
    assert [d.name for d in package.diagrams] == ["ok.bpmn"]


def test_read_zip_refuses_symbolic_links() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("forms/passwd.json")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("p.bpmn", SHIPPED)
    package = read_zip(buffer.getvalue(), source="p.zip")
    assert _messages(package.problems) == ["symbolic links are not allowed in a package"]
    assert package.files == ()


def test_read_zip_refuses_a_zip_bomb_by_its_ratio_without_unpacking_it() -> None:
    bomb = _zip({"p.bpmn": SHIPPED, "huge.json": b"0" * (MAX_MEMBER_BYTES - 1)})
    package = read_zip(bomb, source="bomb.zip")
    assert [(p.file, "zip bomb" in p.message) for p in package.problems] == [("huge.json", True)]


def test_read_zip_refuses_a_member_larger_than_the_cap() -> None:
    data = os.urandom(MAX_MEMBER_BYTES + 1)  # random bytes do not compress: only the size cap applies
    package = read_zip(_zip({"p.bpmn": SHIPPED, "big.json": data}, method=zipfile.ZIP_STORED), source="z")
    assert [(p.file, f"the limit is {MAX_MEMBER_BYTES}" in p.message) for p in package.problems] == [
        ("big.json", True)
    ]


def test_read_zip_stops_at_the_member_count_cap() -> None:
    members = {f"f{i}.json": b"{}" for i in range(MAX_MEMBERS + 5)} | {"p.bpmn": SHIPPED}
    package = read_zip(_zip(members), source="many.zip")
    assert _messages(package.problems) == [f"the package has more than {MAX_MEMBERS} files"]
    assert len(package.files) + len(package.diagrams) == MAX_MEMBERS


def test_read_zip_names_what_is_wrong_when_not_a_zip() -> None:
    package = read_zip(b"PK\x03\x04 not really", source="broken.zip")
    assert [p.message.startswith("not a readable .zip") for p in package.problems] == [True]


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_read_zip_refuses_duplicate_names() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("p.bpmn", SHIPPED)
        archive.writestr("p.bpmn", b"<other/>")
    package = read_zip(buffer.getvalue(), source="dup.zip")
    assert _messages(package.problems) == ["the package holds two files of this name"]


def test_read_directory_refuses_symbolic_links_without_following_them(tmp_path: Path) -> None:
    (tmp_path / "p.bpmn").write_bytes(SHIPPED)
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "secret.json").symlink_to("/etc/passwd")
    package = read_directory(tmp_path)
    assert [(p.file, p.message) for p in package.problems] == [
        ("forms/secret.json", "symbolic links are not allowed in a package")
    ]
    assert package.files == ()


def test_read_upload_takes_one_zip_or_several_files() -> None:
    zipped = read_upload([("package.zip", _zip({"p.bpmn": SHIPPED}))])
    assert [d.name for d in zipped.diagrams] == ["p.bpmn"]
    several = read_upload([("p.bpmn", SHIPPED), ("a.json", b"{}")])
    assert ([d.name for d in several.diagrams], [f.name for f in several.files]) == (["p.bpmn"], ["a.json"])
    mixed = read_upload([("p.bpmn", SHIPPED), ("more.zip", _zip({"q.bpmn": SHIPPED}))])
    assert _messages(mixed.problems) == ["a .zip must be uploaded on its own"]


def test_check_package_reports_every_problem_grouped_with_repeats_counted() -> None:
    tasks = "".join(
        f'<bpmn:scriptTask id="script_{i}"><bpmn:script>x</bpmn:script></bpmn:scriptTask>' for i in range(213)
    )
    data = SHIPPED.replace(
        b'<bpmn:startEvent id="start_launch"', tasks.encode() + b'<bpmn:startEvent id="start_launch"', 1
    )
    report = check_package(read_upload([("many.bpmn", data)]))
    lines = report.lines()
    assert lines[:3] == [
        f"error: many.bpmn: script_{i}: script tasks are not allowed: "
        "Launch Gate never runs code from a diagram"
        for i in range(3)
    ]
    assert lines[3] == "error: many.bpmn: … and 210 more of the same"
    assert not report.deployable


def test_check_package_separates_warnings_and_can_deploy_with_them() -> None:
    no_interchange = SHIPPED[: SHIPPED.index(b"<bpmndi:BPMNDiagram")] + b"</bpmn:definitions>\n"
    report = WorkflowEngine.check_package(read_upload([("launch_gate.bpmn", no_interchange), *SHIPPED_FORMS]))
    assert report.deployable
    assert [(p.severity, p.file, p.element_id) for p in report.problems] == [
        ("warning", "launch_gate.bpmn", "launch_gate")
    ]
    assert "the launch page cannot draw it" in report.problems[0].message
    assert report.summary() == "upload: OK (1 warning(s))"


def test_check_package_needs_referenced_form_files_and_warns_of_unused_ones() -> None:
    with_form = SHIPPED.replace(b'value="go_live-schema.json"', b'value="go_live.json"')
    assert with_form != SHIPPED
    missing = check_package(read_upload([("p.bpmn", with_form), *SHIPPED_FORMS, ("other.json", b"{}")]))
    assert [(p.severity, p.file, p.element_id, p.message) for p in missing.problems] == [
        ("error", "p.bpmn", "go_live", "form file 'go_live.json' is not in the package"),
        (
            "warning",
            "go_live-schema.json",
            None,
            "no diagram of the package references this file; it is ignored",
        ),
        ("warning", "other.json", None, "no diagram of the package references this file; it is ignored"),
    ]
    form = b'{"type": "object", "properties": {"confirm": {"type": "boolean"}, "notes": {"type": "string"}}}'
    present = check_package(read_upload([("p.bpmn", with_form), *SHIPPED_FORMS, ("go_live.json", form)]))
    assert present.errors == []


def test_check_package_checks_the_content_of_form_files() -> None:
    broken = b'{"type": "object", "properties": {"notes": {"type": "array"}}}'
    uploaded = [(n, broken if n == "go_live-schema.json" else d) for n, d in SHIPPED_FORMS]
    report = check_package(read_upload([("p.bpmn", SHIPPED), *uploaded]))
    assert [(p.file, p.element_id) for p in report.errors] == [("go_live-schema.json", "#/properties/notes")]
    assert "a list needs 'maxItems'" in report.errors[0].message
    without_start_form = [(n, d) for n, d in SHIPPED_FORMS if not n.startswith("start_launch-schema")]
    start = check_package(read_upload([("p.bpmn", SHIPPED), *without_start_form]))
    assert [(p.file, p.element_id) for p in start.errors] == [("p.bpmn", "start_launch")]


def test_check_package_refuses_a_start_form_without_what_every_launch_has() -> None:
    # A process's start form may ask for more, but every launch has a product name, summary and date.
    start_only_name = (
        b'{"type": "object", "required": ["product_name"], "properties": '
        b'{"product_name": {"type": "string", "title": "Product name", "maxLength": 120}, '
        b'"summary": {"type": "string", "title": "Summary", "maxLength": 280}, '
        b'"planned_launch_date": {"type": "string", "title": "Planned launch date", "format": "date"}}}'
    )
    uploaded = [(n, start_only_name if n == "start_launch-schema.json" else d) for n, d in SHIPPED_FORMS]
    report = check_package(read_upload([("p.bpmn", SHIPPED), *uploaded]))
    assert {(p.file, p.element_id) for p in report.errors} == {("start_launch-schema.json", "start_launch")}
    assert sorted(p.message for p in report.errors) == [
        "the launch start form must require 'planned_launch_date'",
        "the launch start form must require 'summary'",
    ]


def test_deploy_refuses_a_start_form_without_what_every_launch_has(engine: WorkflowEngine) -> None:
    before = engine.list_process_versions(actor=ADMIN)
    files = dict(SHIPPED_FORMS)
    files["start_launch-schema.json"] = b'{"type": "object", "properties": {"notes": {"type": "string"}}}'
    del files["start_launch-uischema.json"]
    start_ui = b'<spiffworkflow:property name="formUiSchemaFilename" value="start_launch-uischema.json" />'
    changed = SHIPPED.replace(b'name="Go Live"', b'name="Go Live Now"').replace(start_ui, b"")
    with pytest.raises(DiagramRejectedError) as caught:
        engine.deploy_process(xml=changed, actor=ADMIN, files=files)
    assert "the launch start form must ask for 'product_name'" in caught.value.message
    assert engine.list_process_versions(actor=ADMIN) == before


def test_read_path_takes_the_form_files_of_the_repository_layout() -> None:
    package = read_path(ROOT / "bpmn" / "launch_gate.bpmn")
    assert sorted(f.name for f in package.files) == sorted(n for n, _ in SHIPPED_FORMS)
    assert WorkflowEngine.check_package(package).problems == ()
    shipped = read_paths(ROOT / "bpmn")
    assert [[d.name for d in p.diagrams] for p in shipped] == [["launch_gate.bpmn"], ["minor_launch.bpmn"]]
    assert [WorkflowEngine.check_package(p).problems for p in shipped] == [(), ()]


def test_shipped_packages_skip_the_bytecode_cache_and_hidden_folders(tmp_path: Path) -> None:
    bpmn, forms = tmp_path / "bpmn", tmp_path / "forms"
    (forms / "launch_gate").mkdir(parents=True)
    for name, content in SHIPPED_FORMS:
        (forms / "launch_gate" / name).write_bytes(content)
    (bpmn / "__pycache__").mkdir(parents=True)
    (bpmn / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\x00")
    (bpmn / ".git").mkdir()
    (bpmn / "launch_gate.bpmn").write_bytes(SHIPPED)

    shipped = read_paths(bpmn)

    assert [[d.name for d in p.diagrams] for p in shipped] == [["launch_gate.bpmn"]]
    assert [WorkflowEngine.check_package(p).problems for p in shipped] == [()]


def test_read_path_reads_a_zip_a_directory_and_a_plain_diagram(tmp_path: Path) -> None:
    (tmp_path / "p.zip").write_bytes(_zip({"p.bpmn": SHIPPED}))
    assert [d.name for d in read_path(tmp_path / "p.zip").diagrams] == ["p.bpmn"]
    assert [d.name for d in read_path(FIXTURES / "minimal_gate.bpmn").diagrams] == ["minimal_gate.bpmn"]
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "q.bpmn").write_bytes(SHIPPED)
    assert [d.name for d in read_path(tmp_path / "dir").diagrams] == ["q.bpmn"]
