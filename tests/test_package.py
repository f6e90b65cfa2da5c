"""The built wheel carries the files that are not Python (setup.cfg's package_data): a
non-editable install serves Chinese messages and the browser's web login module."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE_DATA = (
    "wxlogin/translations/zh_Hans_CN/LC_MESSAGES/messages.mo",  # wxlogin/languages.py
    "wxlogin/web/qr-login.js",  # wxlogin/web
    "wxlogin/web/demo/qr-login.html",
)


def test_the_package_data_ships_in_the_wheel(tmp_path):
    root = Path(__file__).resolve().parents[1]
    source = tmp_path / "source"  # a copy: the build writes build/ and egg-info beside it
    shutil.copytree(root / "wxlogin", source / "wxlogin", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(root / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=120,
    )
    (wheel,) = tmp_path.glob("wxlogin-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert [name for name in PACKAGE_DATA if name not in names] == []
