"""The CLI's view of a run: each step's duration for the summary, and the live line on a terminal."""

import io
import time

import dagster as dg
from rich.console import Console

from pipelines.defs.runs.progress import LiveProgress, duration_lines, step_times


@dg.op
def slow_load():
    time.sleep(0.4)
    return 1


@dg.op
def quick_check(loaded):
    return loaded


@dg.op
def broken_export(loaded):
    raise dg.Failure(description="the export folder is not writable")


@dg.job
def passing():
    quick_check(slow_load())


@dg.job
def failing():
    broken_export(slow_load())


def _entries(job: dg.JobDefinition):
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        return instance, result.run_id, instance.all_logs(result.run_id)


def test_each_step_is_listed_in_the_order_it_ran_with_its_duration():
    _, _, entries = _entries(passing)
    times = step_times(entries)
    assert [(t.step, t.outcome) for t in times] == [("slow_load", "done"), ("quick_check", "done")]
    assert 0.4 <= times[0].seconds < 5
    assert times[1].seconds < times[0].seconds
    lines = duration_lines(times)
    assert lines[0].split() == ["slow_load", f"{times[0].seconds:.1f}", "s"]
    assert lines[-1].split()[:2] == ["all", "steps"]
    assert float(lines[-1].split()[2]) == round(times[0].seconds + times[1].seconds, 1)


def test_a_failed_step_says_so_and_the_steps_after_it_are_not_listed():
    _, _, entries = _entries(failing)
    times = step_times(entries)
    assert [(t.step, t.outcome) for t in times] == [("slow_load", "done"), ("broken_export", "failed")]
    assert duration_lines(times)[1].endswith("(failed)")


def test_the_live_line_shows_the_steps_done_on_a_terminal_only():
    with dg.instance_for_test() as instance:
        run_id = passing.execute_in_process(instance=instance).run_id
        terminal = io.StringIO()
        with LiveProgress(instance, run_id, Console(file=terminal, force_terminal=True, width=100)) as progress:
            progress.update()
        assert "2/2" in terminal.getvalue() and "step quick_check" in terminal.getvalue()
        log = io.StringIO()
        with LiveProgress(instance, run_id, Console(file=log, force_terminal=False)) as progress:
            progress.update()
        assert log.getvalue() == ""
