"""reload_plan: what SIGHUP changes in a running daemon and what waits for a restart."""

from __future__ import annotations

import dataclasses

from resnet_watch.config import Config, load_config
from resnet_watch.reload_plan import plan_reload


def defaults() -> Config:
    return load_config(None, environ={}, prepare_inbox=False)


def test_live_settings_are_applied_and_named() -> None:
    """A new top_k and log level take effect and are listed as applied."""
    running = defaults()
    new = dataclasses.replace(
        running,
        model=dataclasses.replace(running.model, top_k=3),
        log=dataclasses.replace(running.log, level="debug"),
    )
    plan = plan_reload(running, new)
    assert plan.config.model.top_k == 3
    assert plan.config.log.level == "debug"
    assert plan.applied == ["log.level", "model.top_k"]
    assert plan.needs_restart == []


def test_restart_only_settings_keep_running_values_and_are_named() -> None:
    """A changed settle delay is not applied live; the plan says it needs a restart."""
    running = defaults()
    new = dataclasses.replace(
        running,
        watch=dataclasses.replace(running.watch, settle_seconds=9.0),
        model=dataclasses.replace(running.model, min_score=0.5),
    )
    plan = plan_reload(running, new)
    assert plan.config.watch.settle_seconds == running.watch.settle_seconds
    assert plan.config.model.min_score == 0.5
    assert plan.applied == ["model.min_score"]
    assert plan.needs_restart == ["watch.settle_seconds"]


def test_a_second_reload_reports_only_what_still_differs() -> None:
    """Once applied, an unchanged file reports nothing new; a pending restart stays named."""
    running = defaults()
    new = dataclasses.replace(
        running,
        watch=dataclasses.replace(running.watch, settle_seconds=9.0),
        model=dataclasses.replace(running.model, top_k=3),
    )
    again = plan_reload(plan_reload(running, new).config, new)
    assert again.applied == []
    assert again.needs_restart == ["watch.settle_seconds"]
