"""Bad input to the raw-data readers fails clearly or is reported, never vaguely or silently.

Every case writes real files in tmp_path (CSVs, npz, frame folders, short videos written
with `video_io.write_video`, a coding file) and checks that the message names the file
and the field, row, sample or frame at fault.
"""

import cv2
import numpy as np
import pytest

from cmcl_jax.data import coding
from cmcl_jax.data import coding_write
from cmcl_jax.data import ecg_io
from cmcl_jax.data import layout
from cmcl_jax.data import text_files
from cmcl_jax.data import trial_ecg
from cmcl_jax.data import video_io

TRIAL = "happy_1_101_s01_20230801"


def _frames(count, height=48, width=64):
  for index in range(count):
    frame = np.full((height, width, 3), 40, np.uint8)
    frame[:, : 4 * (index + 1) % width] = 200
    yield frame


def _frame_folder(folder, numbers, fps="150", sizes=None):
  folder.mkdir(parents=True)
  for number, frame in zip(numbers, _frames(len(numbers))):
    if sizes and number in sizes:
      frame = cv2.resize(frame, sizes[number][::-1])
    cv2.imwrite(str(folder / f"img_{number:04d}.png"), frame)
  if fps is not None:
    (folder / "fps.txt").write_text(fps)
  return folder


def _trial(tmp_path, ecg, per_trial=False):
  return layout.Trial(
    subject="s01",
    name=TRIAL,
    video=tmp_path / f"{TRIAL}.avi",
    marker=101,
    emotion="happy",
    date="20230801",
    ecg=ecg,
    ecg_is_per_trial=per_trial,
    expressions=(),
  )


# Frame folders and videos.


@pytest.mark.parametrize("text", ["0", "-150", "fast", "", "nan", "150 fps"])
def test_fps_file_that_is_not_a_positive_number(tmp_path, text):
  folder = _frame_folder(tmp_path / "frames", range(3), fps=text)
  with pytest.raises(video_io.VideoError, match=r"fps\.txt: expected a positive number") as error:
    video_io.video_info(folder)
  assert repr(text) in str(error.value)


def test_fps_passed_for_a_folder_must_be_positive(tmp_path):
  folder = _frame_folder(tmp_path / "frames", range(3), fps=None)
  with pytest.raises(video_io.VideoError, match=r"frames: fps=0.*positive number"):
    video_io.video_info(folder, fps=0)
  assert video_io.video_info(folder, fps=150).fps == 150.0


def test_frame_numbers_with_gaps_are_refused(tmp_path):
  folder = _frame_folder(tmp_path / "frames", [1, 2, 3, 6, 7, 9])
  for read in (video_io.video_info, lambda f: list(video_io.iter_frames(f))):
    with pytest.raises(video_io.VideoError) as error:
      read(folder)
    message = str(error.value)
    assert str(folder) in message and "1–9 have 3 missing (4, 5, 8)" in message


def test_frames_may_start_at_any_number(tmp_path):
  folder = _frame_folder(tmp_path / "frames", range(5, 9))
  assert video_io.video_info(folder).frame_count == 4
  assert len(list(video_io.iter_frames(folder))) == 4


def test_repeated_and_unnumbered_frame_images_are_refused(tmp_path):
  folder = _frame_folder(tmp_path / "frames", range(3))
  cv2.imwrite(str(folder / "img_1.jpg"), next(_frames(1)))
  with pytest.raises(video_io.VideoError, match=r"'img_0001.png' and 'img_1.jpg'.*number 1"):
    video_io.video_info(folder)
  (folder / "img_1.jpg").unlink()
  cv2.imwrite(str(folder / "cover.png"), next(_frames(1)))
  with pytest.raises(video_io.VideoError, match=r"frames: image 'cover.png' has no frame number"):
    video_io.video_info(folder)


def test_frame_size_change_names_folder_frame_and_both_sizes(tmp_path):
  folder = _frame_folder(tmp_path / "frames", range(6), sizes={4: (32, 40)})
  assert video_io.video_info(folder).frame_count == 6
  expected = (
    r"frames: frame 4 \(img_0004.png\) is 32×40 pixels but frame 0 \(img_0000.png\) is 48×64"
  )
  with pytest.raises(video_io.VideoError, match=expected):
    list(video_io.iter_frames(folder))
  with pytest.raises(video_io.VideoError, match=expected):
    list(video_io.iter_frames(folder, start=3, grayscale=True))


def test_unreadable_frame_image_names_the_file_and_frame(tmp_path):
  folder = _frame_folder(tmp_path / "frames", range(4))
  (folder / "img_0002.png").write_bytes(b"not a png")
  with pytest.raises(video_io.VideoError, match=r"img_0002\.png: frame 2: image is unreadable"):
    list(video_io.iter_frames(folder))


def test_frame_folder_shorter_than_expected_is_truncated(tmp_path):
  folder = _frame_folder(tmp_path / "frames", range(4))
  with pytest.raises(video_io.VideoError, match=r"frames: truncated: frame 4 is missing.*6"):
    list(video_io.iter_frames(folder, expect_frames=6))
  assert len(list(video_io.iter_frames(folder, stop=3, expect_frames=6))) == 3


def test_negative_frame_indices_are_refused(tmp_path):
  path = tmp_path / "trial.avi"
  video_io.write_video(path, _frames(4), fps=150.0)
  with pytest.raises(ValueError, match="start=-2"):
    list(video_io.iter_frames(path, start=-2))


def test_writer_refuses_mixed_sizes_and_bad_fps(tmp_path):
  path = tmp_path / "mixed.avi"
  frames = [next(_frames(1)), next(_frames(1, height=32))]
  with pytest.raises(video_io.VideoError, match=r"mixed\.avi: frame 1 has shape \(32, 64, 3\)"):
    video_io.write_video(path, frames, fps=150.0)
  with pytest.raises(video_io.VideoError, match=r"still\.avi: fps=0"):
    video_io.write_video(tmp_path / "still.avi", _frames(2), fps=0)
  with pytest.raises(video_io.VideoError, match=r"float\.avi: frame 0 is float64"):
    video_io.write_video(tmp_path / "float.avi", [np.zeros((8, 8))], fps=150.0)


# ECG CSVs.


def _csv(tmp_path, text, name="ecg.csv"):
  path = tmp_path / name
  if isinstance(text, bytes):
    path.write_bytes(text)
  else:
    path.write_text(text)
  return path


@pytest.mark.parametrize(
  "text, expected",
  [
    (
      "time_s,ecg_mv\n0.003,0\n0.002,0\n0.001,0\n",
      r"column 'time_s' must increase from row to row: row 3 has 0.002 s after 0.003 s at "
      r"row 2; 2 such steps in all \(it counts down",
    ),
    (
      "time_s,ecg_mv\n0,0\n0.001,0\n0.001,0\n0.002,0\n",
      r"column 'time_s' must increase from row to row: row 4 has 0.001 s after 0.001 s",
    ),
    ("time_s,ecg_mv\n0,0\n,0\n0.002,0\n", r"row 3, column 'time_s': empty or NaN; expected a time"),
    ("time_s,ecg_mv\n0,0\n0.001,0\n0.002,x\n", r"row 4, column 'ecg_mv': 'x' is not a number"),
    ("time_s,ecg_mv\ns,mV\n0,0\n0.001,0\n", r"row 2, column 'time_s': 's' is not a number"),
    ("time_s,ecg_mv\n0,True\n0.001,False\n", r"row 2, column 'ecg_mv': 'True' is not a number"),
    (
      "time_s,ecg_mv,marker\n0,0,0\n0.001,0,\n0.002,0,0\n",
      r"row 3, column 'marker': empty or NaN; expected an integer trigger code",
    ),
    (
      "time_s,ecg_mv,marker\n0,0,0\n0.001,0,101.5\n0.002,0,0\n",
      r"row 3, column 'marker': 101.5; expected an integer trigger code",
    ),
    (
      "time_s,ecg_mv,marker\n0,0,0\n0.001,0,on\n0.002,0,0\n",
      r"row 3, column 'marker': 'on' is not a number",
    ),
    (
      "time_s,ecg_mv,ecg_mv\n0,0,1\n0.001,0,1\n",
      r"column 'ecg_mv' appears 2 times in the header \(columns 2, 3\)",
    ),
    ("", r"the file is empty"),
    ("\n\n", r"the file is empty"),
    ("time_s,ecg_mv\n", r"0 sample rows below the header; expected at least 2"),
    ("time_s,ecg_mv\n0,1\n", r"1 sample row below the header; expected at least 2"),
    ("0,0.1\n0.001,0.2\n", r"missing column 'time_s'.*the first row must be the header"),
    ("time_s;ecg_mv\n0;0\n0.001;0\n", r"missing column 'time_s'.*separated by ';'"),
    ("time_s,ecg_mv\n0,0\n0.001,0,5\n", r"line 3, saw 3; expected every row to have"),
  ],
)
def test_malformed_csv_names_file_row_and_column(tmp_path, text, expected):
  path = _csv(tmp_path, text)
  with pytest.raises(ecg_io.EcgFileError, match=r"ecg\.csv: .*" + expected):
    ecg_io.read_recording(path)


def test_csv_row_numbers_count_blank_lines(tmp_path):
  path = _csv(tmp_path, "time_s,ecg_mv\n0,0\n\n0.001,0\n0.002,oops\n")
  with pytest.raises(ecg_io.EcgFileError, match=r"row 5, column 'ecg_mv'"):
    ecg_io.read_recording(path)
  recording = ecg_io.read_recording(_csv(tmp_path, "time_s,ecg_mv\n0,0\n\n0.001,1\n", "ok.csv"))
  np.testing.assert_array_equal(recording.ecg, [0.0, 1.0])


def test_empty_ecg_cells_are_kept_as_nan_and_reported_per_trial(tmp_path):
  rows = [f"{i / 100:.2f},{'' if 300 <= i < 400 else f'{np.sin(i / 5):.3f}'}" for i in range(1200)]
  path = _csv(tmp_path, "time_s,ecg_mv\n" + "\n".join(rows) + "\n", f"{TRIAL}.csv")
  recording = ecg_io.read_recording(path)
  assert np.isnan(recording.ecg[300:400]).all() and np.isfinite(recording.ecg[:300]).all()
  cut = trial_ecg.read_trial_ecg(_trial(tmp_path, path, per_trial=True), 10.0)
  assert any(p.code == "ecg_nan" and "3.000 s" in p.message for p in cut.problems)


def test_unread_columns_are_noted_and_reported_per_trial(tmp_path):
  rows = "".join(f"{i / 100:.2f},{np.sin(i / 5):.3f},1,\n" for i in range(1100))
  path = _csv(tmp_path, "time_s,ecg_mv,resp,\n" + rows, f"{TRIAL}.csv")
  recording = ecg_io.read_recording(path)
  assert [n.code for n in recording.notes] == ["ecg_columns_ignored"]
  assert "'resp'" in recording.notes[0].message
  cut = trial_ecg.read_trial_ecg(_trial(tmp_path, path, per_trial=True), 10.0)
  ignored = [p for p in cut.problems if p.code == "ecg_columns_ignored"]
  assert len(ignored) == 1 and ignored[0].where == str(path) and ignored[0].subject == "s01"


def test_long_csv_round_trips(tmp_path):
  # 7 Hz for 1140 s: with 6 significant digits the times would step 0.14 and 0.15 s.
  ecg = np.sin(np.arange(8000) / 3.0).astype(np.float32)
  path = tmp_path / "long.csv"
  ecg_io.write_recording(path, ecg_io.EcgRecording(ecg, None, 7.0))
  recording = ecg_io.read_recording(path)
  assert recording.sampling_rate == pytest.approx(7.0) and len(recording.ecg) == 8000


# CSV encodings.


def test_windows_1252_csv_is_not_read_as_gb18030(tmp_path):
  text = "Subject,Filename\nZoë_1,surprise_1_101_Zoë_20230701.avi\n"
  path = _csv(tmp_path, text.encode("cp1252"), "coding.csv")
  assert text.encode("cp1252").decode("gb18030")  # GB18030 decodes it too, as mojibake
  assert text_files.read_csv_text(path) == (text, "cp1252")


def test_gb18030_and_utf8_csv_text(tmp_path):
  text = "Subject,Filename,Emotion\n张三,happy_1_101_zhang_20230701.avi,快乐\n"
  assert text_files.read_csv_text(_csv(tmp_path, text.encode("gb18030"), "gb.csv")) == (
    text,
    "gb18030",
  )
  bom = _csv(tmp_path, "\ufeff".encode() + text.encode(), "bom.csv")
  assert text_files.read_csv_text(bom) == (text, "utf-8")


def test_undecodable_or_ambiguous_csv_is_refused_naming_the_encodings(tmp_path):
  path = _csv(tmp_path, b"time_s,ecg_mv\n0,0\n\x81 \xff\n", "binary.csv")
  with pytest.raises(ecg_io.EcgFileError, match=r"binary\.csv: cannot decode.*line 3.*GB18030"):
    ecg_io.read_recording(path)
  path = _csv(tmp_path, "x\nçà\n".encode("cp1252"), "short.csv")
  with pytest.raises(text_files.CsvEncodingError, match=r"short\.csv: cannot tell.*GB18030.*1252"):
    text_files.read_csv_text(path)


def test_ecg_csv_in_another_encoding_is_read_and_noted(tmp_path):
  text = "time_s,ecg_mv,note\n0,0.5,Zoë_a\n0.001,0.25,b\n"
  recording = ecg_io.read_recording(_csv(tmp_path, text.encode("cp1252")))
  np.testing.assert_array_equal(recording.ecg, [0.5, 0.25])
  assert recording.notes[0] == ecg_io.EcgNote(
    "ecg_csv_encoding", "the text is not UTF-8; read as Windows-1252"
  )


# ECG npz.


@pytest.mark.parametrize(
  "arrays, expected",
  [
    (
      dict(sampling_rate="1000 Hz"),
      r"field 'sampling_rate' is '1000 Hz' \(text\); expected a number",
    ),
    (dict(sampling_rate=[1000.0, 500.0]), r"field 'sampling_rate' is .*shape \(2,\); expected one"),
    (dict(sampling_rate=True), r"field 'sampling_rate' is True \(booleans\)"),
    (dict(sampling_rate=-5.0), r"field 'sampling_rate' is -5.0; expected a positive rate"),
    (dict(sampling_rate=np.nan), r"field 'sampling_rate' is nan; expected a positive rate"),
    (
      dict(ecg=np.zeros((100, 2))),
      r"field 'ecg' is .*shape \(100, 2\) \(2 leads\?\); expected one",
    ),
    (dict(ecg=np.array(["a", "b"])), r"field 'ecg' is text of shape \(2,\); expected numbers"),
    (dict(ecg=np.zeros(0)), r"field 'ecg' has no samples"),
    (dict(ecg=np.array([{}, 1], dtype=object)), r"field 'ecg' cannot be loaded"),
    (dict(marker=np.r_[0.0, np.nan, np.zeros(98)]), r"sample 1, field 'marker': empty or NaN"),
    (dict(marker=np.r_[0, 0, 101.5, np.zeros(97)]), r"sample 2, field 'marker': 101.5"),
    (dict(marker=np.array(["0"] * 100)), r"field 'marker' is text of shape \(100,\)"),
    (dict(marker=np.zeros(7)), r"field 'marker' has 7 samples but 'ecg' has 100"),
  ],
)
def test_malformed_npz_names_file_and_field(tmp_path, arrays, expected):
  path = tmp_path / "ecg.npz"
  np.savez(path, **{"ecg": np.zeros(100), "sampling_rate": 1000.0, **arrays})
  with pytest.raises(ecg_io.EcgFileError, match=r"ecg\.npz: " + expected):
    ecg_io.read_recording(path)


def test_npz_extra_fields_are_noted_and_one_element_rate_accepted(tmp_path):
  path = tmp_path / "ecg.npz"
  np.savez(path, ecg=np.zeros(5), sampling_rate=[1000.0], marker=[0, 101.0, 0, 0, 0], t=[0])
  recording = ecg_io.read_recording(path)
  assert recording.sampling_rate == 1000.0 and recording.marker.tolist() == [0, 101, 0, 0, 0]
  assert [n.code for n in recording.notes] == ["ecg_fields_ignored"]


def test_empty_ecg_file(tmp_path):
  path = tmp_path / "ecg.npz"
  path.write_bytes(b"")
  with pytest.raises(ecg_io.EcgFileError, match=r"ecg\.npz: the file is empty \(0 bytes\)"):
    ecg_io.read_recording(path)


# Trial ECG.


def test_second_lead_in_a_session_ecg_names_file_and_field(tmp_path):
  path = tmp_path / "s01_20230801.npz"
  np.savez(path, ecg=np.zeros((20000, 2)), marker=np.zeros(20000, int), sampling_rate=1000.0)
  with pytest.raises(ecg_io.EcgFileError, match=r"s01_20230801\.npz: field 'ecg' .*\(20000, 2\)"):
    trial_ecg.read_trial_ecg(_trial(tmp_path, path), 10.0)


def test_session_ecg_without_a_marker_channel(tmp_path):
  path = tmp_path / "s01_20230801.npz"
  np.savez(path, ecg=np.zeros(20000), sampling_rate=1000.0)
  with pytest.raises(trial_ecg.TrialEcgError, match=r"s01_20230801\.npz: .*no marker channel"):
    trial_ecg.read_trial_ecg(_trial(tmp_path, path), 10.0)


def test_bad_trial_arguments_name_the_trial(tmp_path):
  path = tmp_path / f"{TRIAL}.npz"
  np.savez(path, ecg=np.zeros(20000), sampling_rate=1000.0)
  trial = _trial(tmp_path, path, per_trial=True)
  with pytest.raises(ValueError, match=rf"trial {TRIAL}: video_duration_s=nan"):
    trial_ecg.read_trial_ecg(trial, float("nan"))
  with pytest.raises(ValueError, match=rf"trial {TRIAL}: pad_s=-1.0"):
    trial_ecg.read_trial_ecg(trial, 10.0, pad_s=-1.0)
  with pytest.raises(ValueError, match=rf"trial {TRIAL}: expected_rate=0"):
    trial_ecg.read_trial_ecg(trial, 10.0, expected_rate=0)


def test_edited_ecg_file_is_read_again(tmp_path):
  path = tmp_path / f"{TRIAL}.npz"
  trial = _trial(tmp_path, path, per_trial=True)
  np.savez(path, ecg=np.zeros(20000), sampling_rate=1000.0)
  assert len(trial_ecg.read_trial_ecg(trial, 10.0, pad_s=5.0).ecg) == 15000
  np.savez(path, ecg=np.zeros(12000), sampling_rate=1000.0)
  assert len(trial_ecg.read_trial_ecg(trial, 10.0, pad_s=5.0).ecg) == 12000


# Layout.


def _expression(row, video, onset_s, offset_s):
  return coding.Expression(
    row=row,
    subject="s01",
    video=video,
    marker=101,
    onset_s=onset_s,
    apex_s=(onset_s + offset_s) / 2,
    offset_s=offset_s,
    action_units=("AU12",),
    emotion="happy",
    kind="micro",
  )


def _raw_root(tmp_path, expressions, frames=60):
  root = tmp_path / "raw"
  (root / "videos").mkdir(parents=True)
  coding_write.write_coding_file(expressions, root / "coding_file.csv")
  video_io.write_video(root / "videos" / f"{TRIAL}.avi", _frames(frames), fps=150.0)
  np.savez(root / "s01_20230801.npz", ecg=np.zeros(5000), sampling_rate=1000.0)
  return root


def test_expression_past_the_end_of_its_video_is_reported(tmp_path):
  video = f"videos/{TRIAL}.avi"
  root = _raw_root(tmp_path, [_expression(2, video, 0.1, 0.3), _expression(3, video, 0.3, 0.45)])
  raw = layout.discover(root)
  assert [len(t.expressions) for t in raw.trials] == [2]
  (problem,) = raw.problems
  assert problem.code == "expression_past_video_end" and problem.where == "coding_file.csv row 3"
  assert (
    f"'{video}'" in problem.message and "OffsetTime 0.450 s (frame 68) lies past" in problem.message
  )
  assert "ApexTime" not in problem.message and "(60 frames = 0.400 s at 150 fps" in problem.message


def test_windows_filename_finds_its_video(tmp_path):
  root = _raw_root(tmp_path, [_expression(2, f"videos\\{TRIAL}.avi", 0.1, 0.3)])
  raw = layout.discover(root)
  assert raw.problems == () and len(raw.trials[0].expressions) == 1


def test_misnamed_and_empty_frame_folders_are_reported(tmp_path):
  root = _raw_root(tmp_path, [_expression(2, f"videos/{TRIAL}.avi", 0.1, 0.3)])
  _frame_folder(root / "videos" / "Happy_1_102_s01_2023-08-01", range(3))
  (root / "videos" / "sad_2_103_s01_20230801").mkdir()
  problems = {p.code: p for p in layout.discover(root).problems}
  assert set(problems) == {"unrecognised_video_name", "frame_folder_empty"}
  assert problems["unrecognised_video_name"].where == "videos/Happy_1_102_s01_2023-08-01"
  assert problems["frame_folder_empty"].where == "videos/sad_2_103_s01_20230801"


def test_a_windows_1252_coding_file_keeps_its_names(tmp_path):
  header = "Subject,Filename,Marker,OnsetTime,ApexTime,OffsetTime,Action Units,Estimated Emotion"
  row = "Zoë,surprise_1_101_Zoë_20230701.avi,101,1.0,1.1,1.3,AU1,surprise"
  path = tmp_path / "coding_file.csv"
  path.write_bytes(f"{header}\n{row}\n".encode("cp1252"))
  (expression,) = coding.read_coding_file(path)
  assert expression.subject == "Zoë" and expression.video == "surprise_1_101_Zoë_20230701.avi"
