"""Annotation readers of the spotting datasets, one module per dataset.

`read_annotations(path, dataset)` reads CAS(ME)² (``"casme2"``), SAMM-LV
(``"samm_lv"``), CAS(ME)³ Part A (``"casme3"``) or MECG (``"mecg"``) annotations
into the common model of `annotations`: expressions with 0-based frames, and a
finding for every quirk. `sheets` reads the workbooks and recognises their layouts;
`rows` holds the rules the readers share (missing offsets and apexes, fractional
frames, skipped rows, duplicates).
"""

from cmcl_jax.data.datasets.annotations import (
  DATASETS,
  AnnotationFileError,
  Annotations,
  Expression,
  Finding,
  read_annotations,
)

__all__ = [
  "DATASETS",
  "AnnotationFileError",
  "Annotations",
  "Expression",
  "Finding",
  "read_annotations",
]
