"""scripts/translations --check: a translation whose places for values differ from the English
would break the page that formats it, so the check refuses it."""

from __future__ import annotations

import importlib.util
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType

from babel.messages.catalog import Message

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "translations"


def script() -> ModuleType:
    """The script (a file without .py) as a module."""
    loader = SourceFileLoader("translations_script", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_a_translation_with_the_englishs_places_passes() -> None:
    check = script().misplaced_values
    assert check(Message("%(name)s is disabled.", "%(name)s está desactivado.")) == []
    assert check(Message("Hi, {name}!", "¡Hola, {name}!")) == []
    assert check(Message("more than %(share)s%% of", "más del %(share)s%% de")) == []


def test_a_renamed_lost_or_added_place_is_refused() -> None:
    check = script().misplaced_values
    assert check(Message("%(name)s is disabled.", "%(nombre)s está desactivado.")) == ["%(nombre)s está desactivado."]
    assert check(Message("%(name)s is disabled.", "Está desactivado.")) == ["Está desactivado."]
    assert check(Message("Hi, {name}!", "¡Hola, {name} {name}!")) == ["¡Hola, {name} {name}!"]
    assert check(Message("more than %(share)s%% of", "más del %(share)s% de")) == ["más del %(share)s% de"]


def test_a_plural_form_may_leave_the_number_out_but_not_add_a_place() -> None:
    check = script().misplaced_values
    english = ("%(count)s badge", "%(count)s badges")
    assert check(Message(english, ("بطاقة واحدة", "%(count)s بطاقات"))) == []
    assert check(Message(english, ("%(count)s %(school)s", "%(count)s"))) == ["%(count)s %(school)s"]
