"""Tests for lojasgd.throughput: reading the benchmark records."""

import json

import pytest

from lojasgd.book import throughput

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


def test_series_speedups_summary_and_plot(tmp_path):
    import matplotlib.pyplot as plt

    recs = throughput.load(_write(tmp_path, "c.json", [REC, dict(REC, M=10**4, batched_traj_steps_per_s=8e6, ratio=400.0),
                                                      dict(REC, device="cuda", device_name="H100", M=10**6,
                                                           batched_traj_steps_per_s=3e9, loop_traj_steps_per_s=None,
                                                           ratio=None),
                                                      dict(REC, device="cuda", device_name="H100", M=10**3,
                                                           batched_traj_steps_per_s=3e6, loop_traj_steps_per_s=1e3,
                                                           ratio=3e3)]))
    groups = throughput.series(recs)
    assert list(groups) == [("cpu", "hyperbola", "float64"), ("cuda", "hyperbola", "float64")]
    sp = throughput.speedups(recs)
    # batched / loop within each series: the loop rate 2e4 (cpu) and 1e3 (gpu) divides every M
    assert sp[("cpu", "test cpu", "hyperbola", "float64")] == [(1000, 250.0), (10**4, 400.0)]
    assert sp[("cuda", "H100", "hyperbola", "float64")] == [(1000, 3000.0), (10**6, 3e6)]
    text = throughput.summary(recs)
    assert "up to 400-fold" in text and "On the GPU (H100)" in text and "up to 3,000,000-fold" in text
    assert "same M = 1,000" in text and "3,000-fold" in text
    assert "10⁹" not in text and "per second as a plain loop" in text        # ratios only, no absolute rates
    assert throughput.headline(recs) == "up to 400-fold on the CPU (test cpu) and up to 3,000,000-fold on the GPU (H100)"
    no_loop = [r for r in recs if r.loop_traj_steps_per_s is None]
    assert throughput.speedups(no_loop) == {} and "No benchmark results" in throughput.summary(no_loop)
    assert "No benchmark results" in throughput.summary([]) and "no speed-up" in throughput.headline([])
    assert throughput._sci(9.996e5) == "1.00 × 10⁶" and throughput._sci(0.0123) == "1.23 × 10⁻²"
    fig, ax = plt.subplots()
    throughput.plot(ax, recs)
    assert len(ax.get_lines()) == 3  # one speed-up line per series and the line at 1
    fig2, ax2 = plt.subplots()
    throughput.plot(ax2, [])
    assert not ax2.axison
    plt.close(fig)
    plt.close(fig2)
