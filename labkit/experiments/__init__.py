"""The measurements of steps 7 and 9: nothing here for a student to write, and nothing a step imports.

Each module is one experiment the notebooks run (and a command that runs it alone):

- ``init_profile``: where a cold start's INIT goes, per package (``python -m labkit.experiments.init_profile``)
- ``provisioned``: provisioned concurrency next to an on-demand deploy (``python -m labkit.experiments.provisioned``)
- ``onnx_variant``, ``numpy_variant``: the same model on a lighter runtime, and on NumPy alone, checked
  against the original with ``agreement`` (``python -m labkit.experiments.onnx_variant``, ``... .numpy_variant``)
- ``concurrency``: step 9's burst of concurrent requests against Lambda and Cloud Run, and what each bills

They use the flat modules of ``labkit`` (config, aws, images, ...); nothing outside this package imports them
but the notebooks 07 and 09 and their tests.
"""
