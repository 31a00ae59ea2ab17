"""The lab's given plumbing: what every step, the grader and the notebooks share.

Students never edit it. ``labkit.serving`` and ``labkit.todo`` also ship inside the Lambda
image, so they import nothing beyond the standard library and NumPy; everything else
here (config, AWS clients, the Docker CLI, ...) runs on the student's machine only.
The measurements of steps 7 and 9, which no step imports, live in ``labkit.experiments``.
"""
