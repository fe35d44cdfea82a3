"""The benchmark runner (``make experiment-fashion`` / ``experiment-digits``) on a miniature
digits benchmark: every row trains a student, results and the RESULTS.md section are written,
and a rerun keeps the finished rows instead of training them again."""
from __future__ import annotations

import json

import pytest

from unnatural.distill.studies.experiment import BENCHMARKS, ROWS, Benchmark, Recipe, _is_current, _score_key, main, run


@pytest.fixture(scope="module")
def mini():
    return Benchmark(name="mini", dataset="digits", size=16, teacher_arch="cnn", student_arch="cnn",
                     teacher={"epochs": 10, "optimizer": "sgd", "lr": 0.05, "weight_decay": 5e-4},
                     recipe=Recipe(steps=80, batch_size=32, optimizer="sgd", lr=0.05, augment="off"), images=600,
                     published=(("a published row", 50.0),), source="test")


@pytest.mark.slow
def test_runner_writes_every_row_and_keeps_finished_ones(mini, tmp_path, one_torch_thread):
    doc = tmp_path / "RESULTS.md"
    results = run(mini, tmp_path / "run", seeds=[0], rows=ROWS, doc=doc, progress=False)
    assert [r["key"] for r in results["rows"]] == [r.key for r in ROWS]
    for row in results["rows"]:
        (entry,) = row["runs"]
        assert 0 <= entry["test_acc"] <= 1 and len(entry["per_class"]) == 10 and entry["curve"]
        assert row["kd_score"]["images"] > 0 and len(row["kd_score"]["histogram"]) == 10
    real = results["rows"][0]["runs"][0]["test_acc"]
    assert real > 0.2, results["rows"][0]          # 80 steps on real digits already learn (chance 0.1)
    text = doc.read_text()
    assert "<!-- experiment-mini:begin -->" in text and "a published row" in text
    assert (tmp_path / "results-mini.png").stat().st_size > 1000
    lines = (tmp_path / "run" / "results.jsonl").read_text().splitlines()
    assert len(lines) == len(ROWS)
    # a report-only rerun trains nothing and reports the finished seeds
    report = run(mini, tmp_path / "run", seeds=[0, 1, 2], rows=ROWS, doc=doc, progress=False, train=False)
    assert len((tmp_path / "run" / "results.jsonl").read_text().splitlines()) == len(ROWS)
    assert all(len(row["runs"]) == 1 for row in report["rows"])
    assert (tmp_path / "run" / "kd_scores.json").is_file()
    # a rerun with one more seed trains only that seed's students
    again = run(mini, tmp_path / "run", seeds=[0, 1], rows=ROWS[:1], doc=doc, progress=False)
    assert len((tmp_path / "run" / "results.jsonl").read_text().splitlines()) == len(ROWS) + 1
    assert again["rows"][0]["runs"][0]["test_acc"] == real
    assert json.loads((tmp_path / "run" / "results.json").read_text())["seeds"] == [0, 1]


def test_benchmarks_name_their_published_rows():
    fashion = BENCHMARKS["fashion"]
    assert fashion.dataset == "fashion-mnist" and (fashion.teacher_arch, fashion.student_arch) == ("lenet5",
                                                                                                    "lenet5_half")
    assert dict(fashion.published)["ZSKD, 48k data impressions, no real data"] == 79.62


@pytest.mark.parametrize("args, message", [(["fashion", "--seeds", "x"], "seeds 'x'"),
                                           (["fashion", "--rows", "a,z"], "rows 'a,z'"),
                                           (["fashion", "--jobs", "0"], "--jobs 0"),
                                           (["imagenet"], "invalid choice")])
def test_bad_arguments_exit_2(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_union_concatenates_once_and_rejects_other_shapes(tmp_path):
    import numpy as np

    from unnatural.distill.studies.workspace import ensure_union

    a, b, c = tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "c.npy"
    np.save(a, np.zeros((3, 3, 8, 8), np.uint8))
    np.save(b, np.ones((2, 3, 8, 8), np.uint8))
    np.save(c, np.ones((2, 3, 16, 16), np.uint8))
    union = np.load(ensure_union(tmp_path / "u.npy", [str(a), str(b)]))
    assert union.shape == (5, 3, 8, 8) and union[:3].max() == 0 and union[3:].min() == 1
    with pytest.raises(ValueError, match="c.npy"):
        ensure_union(tmp_path / "v.npy", [str(a), str(c)])
    assert not (tmp_path / "v.npy").exists()


def test_fitted_students_of_another_fit_are_not_current():
    rows = {row.key: row for row in ROWS}
    assert not _is_current(None, rows["b"], "h1")
    assert _is_current({"test_acc": 0.5}, rows["b"], "h1")                      # not a fitted row
    for key in "efgijkl":
        assert _is_current({"fitted_hash": "h1"}, rows[key], "h1")
        assert not _is_current({"fitted_hash": "h1"}, rows[key], "h2")          # refitted since
        assert not _is_current({"fitted_hash": "h1"}, rows[key], None)          # fit deleted, to be redone
        assert _is_current({"test_acc": 0.5}, rows[key], "h2")                  # recorded before hashes


def test_kd_score_cache_key_changes_when_a_set_is_written_again(tmp_path):
    import os

    import numpy as np

    path = tmp_path / "set.npy"
    assert _score_key("noise") == "noise" and _score_key(str(path)) == str(path)   # not a file (yet)
    np.save(path, np.zeros((2, 3, 8, 8), np.uint8))
    first = _score_key(str(path))
    assert first.startswith(f"{path}|") and _score_key(str(path)) == first
    np.save(path, np.ones((2, 3, 8, 8), np.uint8))
    os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 1_000_000))    # a refit, later in time
    assert _score_key(str(path)) != first


def test_students_recorded_before_the_row_fields_changed_keep_their_keys(tmp_path):
    from dataclasses import asdict

    from unnatural.distill.studies.experiment import _finished, _run_key

    bench, row = BENCHMARKS["fashion"], ROWS[1]
    old_row = {k: v for k, v in asdict(row).items() if k != "augment"} | {"extra": {}}   # the first Row layout
    old_key = json.dumps({"bench": bench.name, "teacher": bench.teacher, "recipe": asdict(bench.recipe),
                          "row": old_row, "seed": 0}, sort_keys=True)
    (tmp_path / "results.jsonl").write_text(json.dumps({"key": old_key, "test_acc": 0.7}) + "\n")
    done = _finished(tmp_path / "results.jsonl")
    assert done[_run_key(bench, row, 0)] == {"test_acc": 0.7}
    lowpass = next(r for r in ROWS if r.augment)
    assert lowpass.augment and json.loads(_run_key(bench, lowpass, 0))["row"]["augment"] == lowpass.augment
    assert "augment" not in json.loads(_run_key(bench, row, 0))["row"]
