"""Files that ship inside the package: the page templates (forms/), the shipped process packages (bpmn/
with their form files in forms/<process>/) and the static assets (api/web/static, with the vendored
front-end files of tools/vendor-assets in api/web/static/vendor).

In the repository they stay at the top level (bpmn/, forms/); pyproject.toml maps them into the wheel as
the packages ``api.bpmn`` and ``api.forms`` (setuptools package-dir), and an editable install maps them the
same way, so they are found through importlib.resources wherever Launch Gate runs. Installed side by side
(site-packages/api/bpmn and site-packages/api/forms), a diagram still finds its form files in the sibling
forms/<stem>/ folder, as engine.packages expects. Launch Gate runs from a directory install, not a zip."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def package_path(package: str, source: str) -> Path:
    """The directory of an installed package (Launch Gate is installed as files, never zipped). A source
    tree whose editable install predates the mapping (re-run `uv sync` to refresh it) finds the folder
    `source` at the top of the tree instead."""
    try:
        return Path(str(files(package)))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / source


FORMS_DIR = package_path("api.forms", "forms")
BPMN_DIR = package_path("api.bpmn", "bpmn")
STATIC_DIR = Path(str(files("api.web"))) / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
