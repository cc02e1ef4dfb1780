"""Package discovery, the one thing pyproject.toml cannot say here.

Every ``resnet_watch.*`` folder is found from the tree (a hand-kept list once left out
``resnet_watch.bench`` and the installed program could not start), plus
``resnet_watch.weights``, which lives in ``./weights`` (``[tool.setuptools.package-dir]``).
Folders without ``__init__.py`` (data/, web/templates/) count too: they hold package data.
Everything else is in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

found = find_namespace_packages(
    include=["resnet_watch", "resnet_watch.*"], exclude=["*.__pycache__"]
)
setup(packages=[*found, "resnet_watch.weights"])
