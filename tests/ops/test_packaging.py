"""What the wheel holds (the full build-install-serve path is .ci/wheel-check): every Python package of
the tree is listed in pyproject.toml, and the files the server reads come through api.resources."""

from __future__ import annotations

import tomllib
from pathlib import Path

from api.resources import BPMN_DIR, FORMS_DIR, STATIC_DIR
from api.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_of_the_tree_is_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("engine", "api")
        for init in (ROOT / top).rglob("__init__.py")
    }
    mapped = {
        name for name, folder in config["package-dir"].items() if (ROOT / folder / "__init__.py").is_file()
    }
    assert set(config["packages"]) == found | mapped
    assert mapped == {"api.bpmn", "api.forms"}


def test_templates_diagrams_and_assets_come_from_the_installed_packages() -> None:
    assert (FORMS_DIR / "base.html").is_file()
    assert (FORMS_DIR / "launch_gate" / "start_launch-schema.json").is_file()
    assert "launch_gate.bpmn" in {path.name for path in BPMN_DIR.glob("*.bpmn")}
    assert (STATIC_DIR / "diagram.js").is_file()
    assert Settings().bpmn_dir == BPMN_DIR


def test_data_stays_under_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'launchgate.db'}"
    assert settings.mail_dir == tmp_path / "data" / "mail"
