"""Sphinx configuration: API reference from numpydoc docstrings, theory pages, tutorials."""

project = "graphon_ops"
author = "graphon_ops developers"
release = "0.1.0"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.mathjax", "sphinx.ext.doctest",
              "numpydoc"]
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
autodoc_member_order = "bysource"
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = False
