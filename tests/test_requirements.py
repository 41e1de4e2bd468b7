"""A test whose tool is missing skips on a developer's machine and fails under CI."""

from __future__ import annotations

import pytest

from .conftest import require, require_module

pytestmark = pytest.mark.fast


def test_a_missing_tool_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs Chromium"):
        require(False, "Chromium")
    require(True, "Chromium")  # present: nothing happens


def test_a_missing_tool_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="Chromium is missing"):
        require(False, "Chromium")
    with pytest.raises(pytest.fail.Exception, match="no-such-module is missing"):
        require_module("no_such_module_for_the_test", "no-such-module")
    require_module("pytest", "pytest")
