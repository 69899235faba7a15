"""Every capability's ORM models, loaded so that ``Base.metadata`` (and Alembic) sees all tables.

The capabilities are found rather than listed: each package under ``fullpicture`` with a
``models`` module is imported. ``core`` therefore never imports a capability, and a new
capability's tables are picked up without editing this file.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from types import ModuleType

import fullpicture


def capability_model_modules() -> list[ModuleType]:
    """Import and return the ``models`` module of every capability package that has one."""
    loaded: list[ModuleType] = []
    for package in sorted(pkgutil.iter_modules(fullpicture.__path__), key=lambda p: p.name):
        if not package.ispkg:
            continue
        name = f"fullpicture.{package.name}.models"
        if importlib.util.find_spec(name) is not None:
            loaded.append(importlib.import_module(name))
    return loaded


MODEL_MODULES = capability_model_modules()
