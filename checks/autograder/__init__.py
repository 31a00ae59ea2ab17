"""Gradescope's autograder: the zip (:mod:`.bundle`), its two scripts, and the grading they run (:mod:`.grade`).

Gradescope's autograder specification (docs/sources.md): the zip holds ``setup.sh`` and ``run_autograder`` at its
root; Gradescope unpacks it into ``/autograder/source``, runs ``setup.sh`` once, as root, while it builds the
image (Ubuntu), copies ``run_autograder`` to ``/autograder/run_autograder``, and for every submission puts the
student's files in ``/autograder/submission`` (and ``/autograder/submission_metadata.json``), runs
``run_autograder`` with the working directory ``/autograder`` and uploads ``/autograder/results/results.json``.

- ``setup.sh`` (idempotent: what is already there is not installed again): Python 3.11 with a venv
  (``/autograder/venv``) holding requirements.txt, the registry binary (``docker-registry``) the host-mode
  stand-in runs, and the Runtime Interface Emulator (``python -m lambda_rie``). ``LAB_AUTOGRADER_PYTHON`` names
  an interpreter that already has the requirements (the tests' switch): then no venv is made and pip runs only
  for a pin that interpreter does not satisfy (:mod:`.pins`).
- ``run_autograder``: ``python -m checks.autograder.grade``: the submission graded as the class batch grades one
  (:func:`checks.classroom.batch.run`, ``--mode deploy``: steps 1-9 in a private host-mode stand-in, since
  Gradescope's container has no Docker engine; the checks that need Docker are skipped, said so in the output),
  and ``results.json`` written by :func:`checks.gradebook.gradescope.results_json` (visibility honoured; the due
  date from ``submission_metadata.json`` when it is there).

Every path is below ``AUTOGRADER_ROOT`` (default ``/autograder``), so a test can lay the tree out in a temporary
folder.
"""
