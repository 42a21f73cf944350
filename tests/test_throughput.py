"""Tests for lojasgd.throughput: reading the benchmark records."""

import json

import pytest

from lojasgd import throughput

REC = {"device": "cpu", "device_name": "test cpu", "landscape": "hyperbola", "dtype": "float64", "M": 1000,
       "steps": 200, "batched_traj_steps_per_s": 5.0e6, "loop_traj_steps_per_s": 2.0e4, "ratio": 250.0}


def _write(tmp_path, name, records):
    p = tmp_path / name
    p.write_text(json.dumps(records))
    return p


def test_load_select_and_skip_missing(tmp_path):
    recs = [dict(REC, M=10**4, batched_traj_steps_per_s=9e6, loop_traj_steps_per_s=None, ratio=None), REC,
            dict(REC, landscape="tanh-network")]
    p = _write(tmp_path, "throughput_cpu.json", recs)
    gpu = _write(tmp_path, "throughput_gpu.json", [dict(REC, device="cuda", dtype="float32", M=10**6)])
    out = throughput.load_all([p, tmp_path / "missing.json", gpu])
    assert len(out) == 4
    hyp = throughput.select(out, device="cpu", landscape="hyperbola")
    assert [r.M for r in hyp] == [1000, 10**4]
    assert hyp[1].loop_traj_steps_per_s is None and hyp[0].ratio == 250.0
    assert throughput.select(out, device="cuda")[0].dtype == "float32"
    with pytest.raises(ValueError, match="unknown fields"):
        throughput.select(out, colour="red")


@pytest.mark.parametrize(
    "bad, match",
    [({"device": "tpu"}, "device"), ({"M": 0}, "M="), ({"M": 1.5}, "M="), ({"batched_traj_steps_per_s": -1.0}, "batched"),
     ({"batched_traj_steps_per_s": None}, "batched"), ({"ratio": float("nan")}, "ratio"), ({"dtype": "float16"}, "dtype"),
     ({"device_name": 3}, "device_name")],
)
def test_invalid_records_name_the_key(tmp_path, bad, match):
    p = _write(tmp_path, "t.json", [dict(REC, **bad)])
    with pytest.raises(ValueError, match=match):
        throughput.load(p)


def test_missing_keys_and_wrong_container(tmp_path):
    rec = dict(REC)
    del rec["steps"]
    with pytest.raises(ValueError, match="missing keys"):
        throughput.load(_write(tmp_path, "a.json", [rec]))
    with pytest.raises(ValueError, match="JSON list"):
        throughput.load(_write(tmp_path, "b.json", REC))


def test_series_summary_and_plot(tmp_path):
    import matplotlib.pyplot as plt

    recs = throughput.load(_write(tmp_path, "c.json", [REC, dict(REC, M=10**4, ratio=400.0),
                                                      dict(REC, device="cuda", device_name="H100", M=10**6,
                                                           batched_traj_steps_per_s=3e9, loop_traj_steps_per_s=None,
                                                           ratio=None)]))
    groups = throughput.series(recs)
    assert list(groups) == [("cpu", "hyperbola", "float64"), ("cuda", "hyperbola", "float64")]
    text = throughput.summary(recs)
    assert "400-fold" in text and "M = 10,000" in text and "On the GPU (H100)" in text and "3.00 × 10⁹" in text
    assert "No benchmark results" in throughput.summary([])
    assert throughput._sci(9.996e5) == "1.00 × 10⁶" and throughput._sci(0.0123) == "1.23 × 10⁻²"
    fig, ax = plt.subplots()
    throughput.plot(ax, recs)
    assert len(ax.get_lines()) == 4  # two batched lines, one set of loop markers, the legend's loop entry
    fig2, ax2 = plt.subplots()
    throughput.plot(ax2, [])
    assert not ax2.axison
    plt.close(fig)
    plt.close(fig2)
