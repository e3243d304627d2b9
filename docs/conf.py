"""Sphinx configuration: the API reference, built from the docstrings.

    pip install ".[docs]"
    sphinx-build -W -b html docs docs/_build/html      # warnings are errors (tests/docs/test_docs_build.py)
"""
import os
import sys

sys.path.insert(0, os.path.abspath(".."))

from s2sad import __version__  # noqa: E402

project = "s2sad"
author = "the s2sad authors"
release = version = __version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
exclude_patterns = ["_build", "architecture.md", "img"]
default_role = "literal"               # `x` in a docstring is code, as in the README
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
html_theme = "alabaster"
html_static_path: list[str] = []
suppress_warnings = ["epub.unknown_project_files"]
