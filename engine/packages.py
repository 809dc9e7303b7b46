"""Process packages: the diagram file(s) of a process plus the files they reference (form schemas, …).

A package arrives as a .zip, as a directory, or as several files of one upload. Reading one never writes a
file and never trusts the archive: every member's size, the member count, the total size and the
compression ratio are capped (declared sizes are checked first, then the real bytes are read with a bounded
read), names must be plain relative paths (no absolute paths, `..`, backslashes or control characters), and
symbolic links, encrypted members and duplicate names are refused. What is wrong is reported as problems
naming the member, so one upload gets one complete answer.

The repository keeps diagrams in bpmn/ and their form files in forms/<process file stem>/ (as the shipped
processes do): a diagram read from a folder named ``bpmn`` gets the ``*.json`` files of the sibling
``forms/<stem>/`` folder beside it. ``read_paths(bpmn/)`` gives each such diagram as its own package (and
each folder of bpmn/ as one), so ``bpmn check bpmn/`` checks exactly what the shipped packages deploy.
"""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

from engine.errors import DiagramProblem

__all__ = [
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_PACKAGE_BYTES",
    "MAX_RATIO",
    "PackageFile",
    "ProcessPackage",
    "is_diagram_name",
    "read_directory",
    "read_path",
    "read_paths",
    "read_upload",
    "read_zip",
    "shipped_packages",
]

MAX_PACKAGE_BYTES: Final = 5_000_000  # a .zip as uploaded, and the unpacked total of any package
MAX_MEMBER_BYTES: Final = 1_000_000  # one file of a package (a diagram's own cap is the same)
MAX_MEMBERS: Final = 200
MAX_RATIO: Final = 100  # uncompressed / compressed size of one zip member
_RATIO_FLOOR: Final = 64 * 1024  # small members may compress better than MAX_RATIO; they cannot bomb

_DIAGRAM_SUFFIXES: Final = (".bpmn", ".bpmn2", ".bpmn20.xml")
_BPMN_NAMESPACE: Final = b"http://www.omg.org/spec/BPMN/20100524/MODEL"
# Archive clutter that modelers' and operating systems' zip tools add; skipped without a word.
# Not part of a package: archive and desktop leftovers, and the Python package markers of a directory that
# is also installed as a Python package (bpmn/ and forms/ are, see api/resources.py).
_CLUTTER: Final = ("__MACOSX/", ".DS_Store", "Thumbs.db", "__init__.py")


@dataclass(frozen=True)
class PackageFile:
    name: str  # a relative path inside the package, with forward slashes
    data: bytes


@dataclass(frozen=True)
class ProcessPackage:
    """What was read: diagrams, the other files, and the problems met while reading."""

    source: str
    diagrams: tuple[PackageFile, ...]
    files: tuple[PackageFile, ...]
    problems: tuple[DiagramProblem, ...]

    def file(self, name: str) -> PackageFile | None:
        return next((f for f in self.files if f.name == name), None)


def is_diagram_name(name: str) -> bool:
    return name.lower().endswith(_DIAGRAM_SUFFIXES)


def _problem(name: str | None, message: str) -> DiagramProblem:
    return DiagramProblem(None, message, file=name)


def _name_problem(name: str) -> str | None:
    """Why a member name is unsafe (None when it is a plain relative path)."""
    if not name or len(name) > 255:
        return "a file name must have 1 to 255 characters"
    if any(ord(c) < 32 or ord(c) == 127 or c in "\u0085\u2028\u2029" for c in name):
        return "the file name contains control characters"
    if "\\" in name:
        return "the file name contains a backslash; use forward slashes"
    path = PurePosixPath(name)
    if path.is_absolute() or ":" in path.parts[0]:
        return "the file name is an absolute path"
    if ".." in path.parts:
        return "the file name leaves the package ('..')"
    return None


class _Collector:
    """Accepts members one by one, enforcing the count and total caps and sorting diagrams from files."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.diagrams: list[PackageFile] = []
        self.files: list[PackageFile] = []
        self.problems: list[DiagramProblem] = []
        self.total = 0
        self.count = 0
        self.names: set[str] = set()
        self.full = False

    def admit(self, name: str, size: int) -> bool:
        """Whether a member of that name and (declared) size may be read."""
        if self.full:
            return False
        reason = _name_problem(name)
        if reason is not None:
            self.problems.append(_problem(name, reason))
            return False
        if name in self.names:
            self.problems.append(_problem(name, "the package holds two files of this name"))
            return False
        self.count += 1
        if self.count > MAX_MEMBERS:
            self.problems.append(_problem(None, f"the package has more than {MAX_MEMBERS} files"))
            self.full = True
            return False
        if size > MAX_MEMBER_BYTES:
            self.problems.append(_problem(name, f"the file is {size} bytes; the limit is {MAX_MEMBER_BYTES}"))
            return False
        if self.total + size > MAX_PACKAGE_BYTES:
            self.problems.append(
                _problem(None, f"the package unpacks to more than {MAX_PACKAGE_BYTES} bytes")
            )
            self.full = True
            return False
        return True

    def add(self, name: str, data: bytes, *, diagram: bool = False) -> None:
        self.names.add(name)
        self.total += len(data)
        sniffed = name.lower().endswith(".xml") and _BPMN_NAMESPACE in data[:4096]
        is_diagram = diagram or is_diagram_name(name) or sniffed
        (self.diagrams if is_diagram else self.files).append(PackageFile(name, data))

    def package(self) -> ProcessPackage:
        if not self.diagrams and not self.problems:
            self.problems.append(_problem(None, "the package holds no diagram (a .bpmn file)"))
        return ProcessPackage(
            source=self.source,
            diagrams=tuple(sorted(self.diagrams, key=lambda f: f.name)),
            files=tuple(sorted(self.files, key=lambda f: f.name)),
            problems=tuple(self.problems),
        )


def _is_clutter(name: str) -> bool:
    path = PurePosixPath(name)
    return name.startswith(_CLUTTER[0]) or path.name in _CLUTTER[1:] or "__pycache__" in path.parts


def _zip_member_problem(info: zipfile.ZipInfo) -> str | None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "symbolic links are not allowed in a package"
    if info.flag_bits & 0x1:
        return "encrypted files are not allowed in a package"
    limit = max(info.compress_size * MAX_RATIO, _RATIO_FLOOR)
    if info.file_size > limit:
        return f"the file is compressed more than {MAX_RATIO}:1; refused as a possible zip bomb"
    return None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | str:
    """The member's bytes, or why it could not be read. Never reads more than the cap allows."""
    limit = min(MAX_MEMBER_BYTES, max(info.compress_size * MAX_RATIO, _RATIO_FLOOR))
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        return f"the file could not be unpacked: {exc}"
    if len(data) > limit:
        return "the file unpacks to more than its header declares"
    return data


def read_zip(data: bytes, *, source: str) -> ProcessPackage:
    """Read a package from the bytes of a .zip."""
    collector = _Collector(source)
    if len(data) > MAX_PACKAGE_BYTES:
        collector.problems.append(
            _problem(None, f"the .zip is {len(data)} bytes; the limit is {MAX_PACKAGE_BYTES}")
        )
        return collector.package()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        collector.problems.append(_problem(None, f"not a readable .zip: {exc}"))
        return collector.package()
    with archive:
        for info in members:
            name = info.filename
            if info.is_dir() or _is_clutter(name):
                continue
            if not collector.admit(name, info.file_size):
                continue
            reason = _zip_member_problem(info)
            content = _read_member(archive, info) if reason is None else reason
            if isinstance(content, str):
                collector.problems.append(_problem(name, content))
                continue
            collector.add(name, content)
    return collector.package()


def read_directory(path: Path) -> ProcessPackage:
    """Read a package from a directory (recursively). Symbolic links are refused, not followed."""
    collector = _Collector(str(path))
    entries = sorted(_walk(path, collector))
    for entry in entries:
        _collect(collector, entry, entry.relative_to(path).as_posix())
    for entry in entries:
        if entry.parent == path and is_diagram_name(entry.name):
            _collect_layout_forms(collector, entry)
    return collector.package()


def _collect(collector: _Collector, entry: Path, name: str) -> None:
    if _is_clutter(name):
        return
    try:
        size = entry.lstat().st_size
    except OSError as exc:
        collector.problems.append(_problem(name, f"cannot read: {exc.strerror}"))
        return
    if not collector.admit(name, size):
        return
    content = _read_bounded(entry)
    if isinstance(content, str):
        collector.problems.append(_problem(name, content))
        return
    collector.add(name, content)


def _collect_layout_forms(collector: _Collector, diagram: Path) -> None:
    """The repository layout: bpmn/<stem>.bpmn takes the form files of forms/<stem>/ beside it."""
    folder = diagram.parent.parent / "forms" / diagram.name.split(".", 1)[0]
    if diagram.parent.name != "bpmn" or folder.is_symlink() or not folder.is_dir():
        return
    for entry in sorted(folder.glob("*.json")):
        if entry.is_symlink() or not entry.is_file():
            collector.problems.append(_problem(entry.name, "symbolic links are not allowed in a package"))
        elif entry.name in collector.names:
            where = f"forms/{folder.name}/{entry.name}"
            collector.problems.append(_problem(where, "another file of the package has this name"))
        else:
            _collect(collector, entry, entry.name)


def _walk(root: Path, collector: _Collector) -> Iterable[Path]:
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError as exc:
            collector.problems.append(_problem(str(folder), f"cannot read: {exc.strerror}"))
            continue
        for entry in entries:
            if entry.is_symlink():
                name = entry.relative_to(root).as_posix()
                collector.problems.append(_problem(name, "symbolic links are not allowed in a package"))
            elif entry.is_dir():
                pending.append(entry)
            elif entry.is_file():
                yield entry


def _read_bounded(path: Path) -> bytes | str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_MEMBER_BYTES + 1)
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    if len(data) > MAX_MEMBER_BYTES:
        return f"the file is larger than {MAX_MEMBER_BYTES} bytes"
    return data


def _looks_like_zip(data: bytes) -> bool:
    return data.startswith((b"PK\x03\x04", b"PK\x05\x06"))


def read_upload(files: Sequence[tuple[str, bytes]], *, source: str = "upload") -> ProcessPackage:
    """Read the files of one upload: one .zip, or the package's files side by side (file names only, as
    browsers send them)."""
    if len(files) == 1 and (_looks_like_zip(files[0][1]) or files[0][0].lower().endswith(".zip")):
        return read_zip(files[0][1], source=files[0][0] or source)
    collector = _Collector(source)
    for name, data in files:
        if _looks_like_zip(data) or name.lower().endswith(".zip"):
            collector.problems.append(_problem(name, "a .zip must be uploaded on its own"))
            continue
        if collector.admit(name, len(data)):
            collector.add(name, data, diagram=len(files) == 1)  # one file alone is the diagram
    return collector.package()


def read_path(path: Path) -> ProcessPackage:
    """A package from what a user named on the command line: a directory, a .zip, or one diagram."""
    if path.is_symlink() and path.is_dir():
        return ProcessPackage(str(path), (), (), (_problem(str(path), "symbolic links are not followed"),))
    if path.is_dir():
        return read_directory(path)
    content = _read_bounded(path) if path.suffix.lower() != ".zip" else _read_zip_file(path)
    if isinstance(content, str):
        return ProcessPackage(str(path), (), (), (_problem(str(path), content),))
    if path.suffix.lower() == ".zip" or _looks_like_zip(content):
        return read_zip(content, source=str(path))
    collector = _Collector(str(path))
    collector.add(path.name, content)
    _collect_layout_forms(collector, path)
    return collector.package()


def _read_zip_file(path: Path) -> bytes | str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PACKAGE_BYTES + 1)
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    if len(data) > MAX_PACKAGE_BYTES:
        return f"the .zip is larger than {MAX_PACKAGE_BYTES} bytes"
    return data


def shipped_packages(bpmn_dir: Path) -> list[ProcessPackage]:
    """The packages the repository ships: each ``bpmn/<name>.bpmn`` with the form files of
    ``forms/<name>/``, and each folder under bpmn/ as one package (its diagrams and files together).
    bpmn/ is also a Python package (api.bpmn), so Python's ``__pycache__`` and hidden folders are not
    process packages."""
    diagrams = [read_path(path) for path in sorted(bpmn_dir.glob("*.bpmn"))]
    folders = [
        read_directory(path)
        for path in sorted(bpmn_dir.iterdir())
        if path.is_dir() and not path.is_symlink() and not path.name.startswith(("__", "."))
    ]
    return diagrams + folders


def read_paths(path: Path) -> list[ProcessPackage]:
    """What a user named on the command line, as packages: the repository's bpmn/ folder (beside a forms/
    folder) is the shipped packages, one per diagram; anything else is one package (read_path)."""
    if path.name == "bpmn" and path.is_dir() and not path.is_symlink() and (path.parent / "forms").is_dir():
        return shipped_packages(path)
    return [read_path(path)]
