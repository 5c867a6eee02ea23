"""Sphinx configuration: API reference from numpydoc docstrings, theory pages, tutorials."""

project = "graphon_ops"
author = "graphon_ops developers"
release = "0.1.0"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.mathjax", "sphinx.ext.doctest",
              "numpydoc", "myst_parser"]
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
autodoc_member_order = "bysource"
# _static holds the generated validation report (Markdown), included by validation_report.md, not a page
exclude_patterns = ["_build", "_static"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
html_theme = "alabaster"
nitpicky = False
