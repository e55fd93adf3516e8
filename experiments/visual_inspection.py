r"""The paper's visual-inspection figure for one trial of a raw MECG layout.

  python -m experiments.visual_inspection --root=RAW --trial=subj01/101 \
      [--out=DIR] [--faces]

Draws ECG, HR and HR slope over the trial with vertical lines at expression apexes
(`<out>/visual_inspection_<subject>_<marker>.png`); with `--faces`, also the onset and
apex frames of the trial's first micro-expression (`onset_apex_<subject>_<marker>.png`).
`--trial` is `<subject>/<marker>` or a video name; by default the first trial with an ME.
"""

from absl import app
from absl import flags

from cmcl_jax.analysis import visual_inspection
from experiments import cli

_ROOT = flags.DEFINE_string("root", None, "Raw MECG folder.", required=True)
_TRIAL = flags.DEFINE_string("trial", None, "<subject>/<marker> or video name.")
_OUT = flags.DEFINE_string("out", "workdir/figures", "Folder for the PNG files.")
_FACES = flags.DEFINE_bool("faces", False, "Also draw the onset/apex frames of an ME.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  out = cli.output_folder("out", _OUT.value)
  try:
    paths = visual_inspection.draw_trial(_ROOT.value, _TRIAL.value, out, _FACES.value)
  except ValueError as error:
    raise app.UsageError(str(error)) from None
  for path in paths:
    print(f"wrote {path}")


if __name__ == "__main__":
  cli.run(main)
