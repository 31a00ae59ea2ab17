"""The grader's sandbox: run a submission's code in a confined interpreter of its own and bring back plain data.

The grader's side, in the order a step uses it:

- :mod:`checks.sandbox.spawn`: :func:`~checks.sandbox.spawn.run_probe` copies the submission, starts
  the child in a container or a confined process, and asks it the step's questions;
- :mod:`checks.sandbox.questions`: what the grader asks each probe, in order, one record per question;
- :mod:`checks.sandbox.container`: the grader's Docker (its sandbox image, and step 3's build and run
  of the submission's own image);
- :mod:`checks.sandbox.forkserver`: where Docker is not used, each child is a fork of one pre-imported
  interpreter that holds nothing of the grader's;
- :mod:`checks.sandbox.confine`: a process's confinement where Docker is not used (namespaces,
  read-only mounts, no capabilities, a user of its own, resource limits);
- :mod:`checks.sandbox.tunnel` (and :mod:`localcloud.relay`, in the child's network namespace): a
  networked child that reaches exactly one port of the host's loopback, its stand-in's edge;
- :mod:`checks.sandbox.reaper`: every process and file the child left, found and removed;
- :mod:`checks.sandbox.channel`: the grader's end of the grading channel (one question at a time, what
  the child printed meanwhile, deadline, size limits, refused forgeries).

The observer is the grader's process: it keeps a record only as the answer to a question it has just
asked, so the child holds no secret whose theft could forge one. The child's side is
:mod:`checks.probes`, which runs next to the student's code and answers. The two sides
share only :mod:`checks.sandbox.protocol`: the probes import nothing else of this package, and no
module of this package imports the probes. This file imports nothing, so that the child, importing
the protocol, loads no other module of the grader's side.
"""
