"""LOSO on a video-only dataset: micro and macro spotters, the MEGC table, submissions."""

import json
from pathlib import Path

import pytest
import tensorflow_datasets as tfds

from cmcl_jax.analysis import report
from cmcl_jax.data import trials
from cmcl_jax.data.synthetic import megc_layouts
from cmcl_jax.experiment import dataset, loso, methods, video_inputs
from cmcl_jax.spotting import megc
from data_builders.megc import megc_dataset_builder
from experiments.configs import casme2


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  """(raw root, data_dir) of the tiny CAS(ME)² stand-in built as megc/tiny and tiny_macro."""
  raw = tmp_path_factory.mktemp("casme2_raw")
  megc_layouts.generate(raw, "casme2", megc_layouts.preset("casme2", "tiny"), progress=False)
  data_dir = tmp_path_factory.mktemp("tfds")
  for name in ("tiny", "tiny_macro"):
    builder = megc_dataset_builder.Builder(config=name, data_dir=str(data_dir), num_workers=1)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(raw)))
  return raw, data_dir


def _config(built, spotters):
  raw, data_dir = built
  config = casme2.get_config("runlocal")
  config.data.data_dir, config.data.raw_dir = str(data_dir), str(raw)
  config.loso.spotters = spotters
  config.loso.compilation_cache = False
  return config


def test_mdmd_spots_micro_and_macro_into_the_megc_table(built, tmp_path):
  config = _config(built, ("mdmd", "mdmd_macro"))
  folds = loso.run_loso(config, tmp_path)
  assert sorted(folds) == ["s15", "s16"]
  stored = json.loads((tmp_path / "folds/s15/mdmd_macro/spotted.json").read_text())
  assert stored["kind"] == "macro" and "kind" not in json.loads(
    (tmp_path / "folds/s15/mdmd/spotted.json").read_text()
  )
  builder = dataset.open_builder(config.data)
  summary = report.write_report(config, tmp_path, builder, folds, tmp_path / "results")
  rows = {row["type"]: row for row in summary["megc"]}
  assert [r["type"] for r in summary["megc"]] == ["micro", "macro", "overall"]
  assert {r["method"] for r in summary["megc"]} == {"MDMD (He et al. 2020)"}
  for field in ("tp", "fp", "fn"):
    assert rows["overall"][field] == rows["micro"][field] + rows["macro"][field]
    assert rows["micro"][field] == sum(
      f["variants"]["mdmd"]["total"][field] for f in folds.values()
    )
  truth = [e for i in trials.load_trials(builder, "s15+s16") for e in i.expressions]
  assert rows["micro"]["tp"] + rows["micro"]["fn"] == sum(e.kind == "micro" for e in truth)
  assert rows["macro"]["tp"] + rows["macro"]["fn"] == sum(e.kind == "macro" for e in truth)
  assert (tmp_path / "results/megc.md").read_text().count("| MDMD") == 3

  (path,) = summary["submissions"]
  submitted = megc.read_submission(path)
  videos = {i.record["video"] for i in trials.load_trials(builder, "s15+s16")}
  assert set(submitted) == videos  # every video, named by the dataset's own id
  spotted = sum(len(v) for v in submitted.values())
  assert spotted == rows["overall"]["tp"] + rows["overall"]["fp"]
  assert Path(summary["spotting_figure"]).is_file()
  assert not (tmp_path / "results/table3.md").exists()


def test_cmcl_net_macro_spotter_trains_on_the_macro_windows(built, tmp_path):
  config = _config(built, ("video_macro",))
  config.loso.folds = "s16"
  spotter = methods.make_spotter("video_macro", config)
  assert spotter.kind == "macro" and spotter.spotting.half_width_frames == 18  # 0.6 s
  (fold,) = loso.run_loso(config, tmp_path).values()
  inputs = json.loads((tmp_path / "folds/s16/video_macro/inputs.json").read_text())
  assert inputs["tfds_config"] == "tiny_macro" and inputs["spec"]["window_frames"] == 60
  counts = fold["variants"]["video_macro"]["total"]
  builder = dataset.open_builder(config.data)
  macros = [
    e for i in trials.load_trials(builder, "s16") for e in i.expressions if e.kind == "macro"
  ]
  assert counts["tp"] + counts["fn"] == len(macros)
  scores = loso.stored_scores(tmp_path, builder, "s16", "video_macro")
  assert all(set(t.curves) == {"macro"} for t in scores)


def test_what_needs_an_ecg_or_another_rate_is_refused(built, tmp_path):
  config = _config(built, ("mdmd",))
  config.loso.ccf.spotters = ("mdmd",)
  with pytest.raises(ValueError, match=r"megc/tiny has no ECG \(video only\).*loso.ccf.spotters"):
    loso.run_loso(config, tmp_path)
  builder = dataset.open_builder(config.data)
  check = video_inputs.check_video_config
  config = _config(built, ("video",))
  check(config, builder, 30.0)
  config.data.fps = 200.0
  with pytest.raises(ValueError, match="data.fps=200: megc/tiny was built from videos at 30 fps"):
    check(config, builder, 30.0)
  config = _config(built, ("video",))
  config.model.encoder.modality = "both"
  with pytest.raises(ValueError, match="modality='both': megc/tiny has no ECG"):
    check(config, builder, 30.0)
  config = _config(built, ("video",))
  config.data.sampling.heart_fraction = 0.25
  with pytest.raises(ValueError, match="heart_fraction=0.25"):
    check(config, builder, 30.0)


def test_megc_methods_group_spotters_by_title_one_per_kind(built):
  config = _config(built, ("video", "video_macro", "mdmd"))
  assert report.megc_methods(config) == {
    "CMCL-Net (video)": ["video", "video_macro"],
    "MDMD (He et al. 2020)": ["mdmd"],
  }
  folds = {
    "s15": {"variants": {n: {"total": {"tp": 1, "fp": 2, "fn": 3}} for n in config.loso.spotters}}
  }
  rows = report.megc_rows(config, folds)
  assert [(r["method"], r["type"], r["tp"]) for r in rows] == [
    ("CMCL-Net (video)", "micro", 1),
    ("CMCL-Net (video)", "macro", 1),
    ("CMCL-Net (video)", "overall", 2),
    ("MDMD (He et al. 2020)", "micro", 1),  # micro only: no overall row
  ]
  config.spotters.mdmd.title = "CMCL-Net (video)"
  with pytest.raises(ValueError, match="'video' and 'mdmd': both titled 'CMCL-Net \\(video\\)'"):
    report.megc_methods(config)


def test_open_builder_names_the_build_command_of_megc(tmp_path):
  config = casme2.get_config()
  config.data.data_dir = str(tmp_path)
  with pytest.raises(FileNotFoundError, match="build_mecg data_builders/megc .*--config=casme2"):
    dataset.open_builder(config.data)
  with pytest.raises(ValueError, match="megc has no config 'default'"):
    dataset.open_builder(config.data, "default")
