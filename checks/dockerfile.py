"""A submission's Dockerfile as Docker builds it: the image the final stage starts from, and what each step does.

dockerfile-parse reads the text as Docker does (continuation lines, comments between them, the escape directive,
ARGs before FROM). This module follows the classic builder through the result:

- stages and their aliases: the final image is the last stage, on top of the stages its FROM names;
- ENV and ARG substituted in FROM, COPY, ADD, WORKDIR and ENV, as the builder does, and by the shell in a RUN's
  shell form, never in its exec form (``RUN ["pip", ...]`` gets its words as written);
- WORKDIR relative to the one before; the Lambda base image brings ``/var/task`` and ``LAMBDA_TASK_ROOT``;
- COPY and ADD sources matched against the build context the grader stages (files, folders, ``.``, globs),
  destinations relative to the working directory, a folder when it ends in ``/``, names several sources or
  already is one;
- RUN's shell form split into simple commands (``&&``, ``||``, ``;``, ``|``), following ``cd``.
"""

from __future__ import annotations

import fnmatch
import io
import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field

from dockerfile_parse import DockerfileParser
from dockerfile_parse.parser import image_from
from dockerfile_parse.util import WordSplitter

LAMBDA_BASE = re.compile(r"^public\.ecr\.aws/lambda/python:3\.11(?:\.[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$")
LAMBDA_ENV = {"LAMBDA_TASK_ROOT": "/var/task", "LAMBDA_RUNTIME_DIR": "/var/runtime"}  # the base image's ENV
LAMBDA_WORKDIR = "/var/task"
CONTROL = {"&&", "||", ";", "|", "&", ";;", "(", ")"}
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass
class Step:
    """One instruction of the final image, as the builder runs it."""

    keyword: str
    line: int  # 1-based, where it starts in the Dockerfile
    text: str  # as written, continuation lines joined
    workdir: str  # the working directory it runs in
    copied: dict[str, str] = field(default_factory=dict)  # COPY/ADD from the context: image path -> context path
    commands: list[tuple[str, list[str]]] = field(default_factory=list)  # RUN: (directory, words) per command


@dataclass
class Image:
    base: str | None  # the image the final stage is built on, through any stage aliases
    steps: list[Step]  # the final image's instructions after that base's FROM, in build order
    instructions: int  # every instruction of the file but FROM (0: nothing written yet)


def read(text: str, context: list[str]) -> Image:
    """The image ``text`` builds from a context holding the files ``context`` (paths relative to it)."""
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()), env_replace=False)
    top_args: dict[str, str] = {}
    stages: list[tuple[str | None, str, list[dict]]] = []  # (alias, FROM image, instructions)
    for instruction in parser.structure:
        keyword = instruction["instruction"]
        if keyword == "COMMENT":
            continue
        if keyword == "FROM":
            image, alias = image_from(instruction["value"])
            stages.append(((alias or "").lower() or None, WordSplitter(image or "", args=top_args).dequote(), []))
        elif stages:
            stages[-1][2].append(instruction)
        elif keyword == "ARG":
            top_args.update(_assignments(instruction["value"], {}))
    if not stages:
        return Image(None, [], 0)
    chain, base = [], stages[-1]
    names = {alias: n for n, (alias, _, _) in enumerate(stages) if alias}
    while base[1].lower() in names and names[base[1].lower()] < stages.index(base):
        chain[:0] = base[2]
        base = stages[names[base[1].lower()]]
    chain[:0] = base[2]
    image = Image(base[1], [], sum(len(s[2]) for s in stages))
    _follow(image, chain, top_args, set(context))
    return image


def _follow(image: Image, chain: list[dict], top_args: dict, context: set[str]) -> None:
    lambda_base = bool(LAMBDA_BASE.match(image.base or ""))
    env, args = dict(LAMBDA_ENV) if lambda_base else {}, {}
    workdir = LAMBDA_WORKDIR if lambda_base else "/"
    folders = _parents(workdir) | {workdir}
    for instruction in chain:
        keyword, value = instruction["instruction"], instruction["value"]
        step = Step(keyword, instruction["startline"] + 1, f"{keyword} {value}".strip(), workdir)
        known = {**args, **env}
        if keyword == "ENV":
            env.update(_assignments(value, known))
        elif keyword == "ARG":
            args.update({k: top_args.get(k, v) for k, v in _assignments(value, known).items()})
        elif keyword == "WORKDIR":
            workdir = posixpath.normpath(posixpath.join(workdir, WordSplitter(value, args=args, envs=env).dequote()))
            folders |= _parents(workdir) | {workdir}
        elif keyword in ("COPY", "ADD"):
            flags, words = _copy_words(value, args, env)
            if words and not any(f.startswith("--from") for f in flags):
                step.copied = _copies(words[:-1], words[-1], workdir, context, folders)
                folders |= {p for target in step.copied for p in _parents(target)}
        elif keyword == "RUN":
            step.commands = _commands(value, workdir, known)
        image.steps.append(step)


def _assignments(value: str, known: dict) -> dict[str, str]:
    """``K=V K2="V 2"`` or the old ``K V`` (ENV), or ``NAME`` (ARG without default), substituted."""
    words = list(WordSplitter(value, args=known, envs=known).split())
    if words and "=" not in words[0] and len(words) > 1:  # ENV KEY value with spaces
        return {words[0]: " ".join(words[1:])}
    return dict((w.split("=", 1) + [""])[:2] for w in words)


def _copy_words(value: str, args: dict, env: dict) -> tuple[list[str], list[str]]:
    """(flags, sources and destination) of a COPY/ADD, shell or JSON form, substituted."""
    found = re.match(r"^((?:--\S+\s+)*)(.*)$", value, re.S)
    flags, rest = found.group(1).split(), found.group(2).strip()
    if rest.startswith("["):
        try:
            listed = json.loads(rest)
        except ValueError:
            listed = None
        if isinstance(listed, list) and all(isinstance(w, str) for w in listed):
            return flags, [WordSplitter(w, args=args, envs=env).dequote() for w in listed]
    return flags, list(WordSplitter(rest, args=args, envs=env).split())


def _copies(sources: list[str], destination: str, workdir: str, context: set[str], folders: set[str]) -> dict[str, str]:
    """image path -> context path of every context file a COPY brings (Docker's rules for sources and destinations)."""
    target = posixpath.normpath(posixpath.join(workdir, destination))
    as_folder = destination.endswith("/") or len(sources) > 1 or target in folders
    copied = {}
    for source in sources:
        pattern = posixpath.normpath(source.lstrip("/")) if source.strip("/.") else "."
        for path in sorted(context):
            if pattern == ".":
                copied[posixpath.join(target, path)] = path
                continue
            parts = path.split("/")
            for depth in range(1, len(parts) + 1):
                prefix = "/".join(parts[:depth])
                if not _match(pattern, prefix):
                    continue
                if depth == len(parts):  # the file itself
                    glob_or_many = as_folder or any(c in source for c in "*?[")
                    copied[posixpath.join(target, parts[-1]) if glob_or_many else target] = path
                else:  # a folder: its contents
                    copied[posixpath.join(target, *parts[depth:])] = path
                break
    return copied


def _match(pattern: str, path: str) -> bool:
    """Go's filepath.Match, segment by segment (``*`` never crosses a ``/``)."""
    pattern_parts, path_parts = pattern.split("/"), path.split("/")
    return len(pattern_parts) == len(path_parts) and all(fnmatch.fnmatchcase(p, q) for q, p in zip(pattern_parts, path_parts))


def _parents(path: str) -> set[str]:
    parents = set()
    while path not in ("/", ""):
        path = posixpath.dirname(path)
        parents.add(path)
    return parents


def _commands(value: str, workdir: str, known: dict) -> list[tuple[str, list[str]]]:
    """RUN's simple commands with the directory each runs in: exec form word for word, shell form as sh reads it."""
    if value.startswith("["):
        try:
            listed = json.loads(value)
        except ValueError:
            listed = None
        if isinstance(listed, list) and all(isinstance(w, str) for w in listed):
            return [(workdir, listed)]
    value = re.sub(r"^(?:--\S+\s+)*", "", value)  # RUN --mount=... and friends
    expanded = VARIABLE.sub(lambda m: known.get(m.group(1) or m.group(2), ""), value)
    try:
        lexer = shlex.shlex(expanded, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: sh would refuse it too
        return []
    commands, words, cwd = [], [], workdir
    for token in [*tokens, ";"]:
        if token not in CONTROL:
            words.append(token)
            continue
        if words[:1] == ["cd"] and len(words) > 1:
            cwd = posixpath.normpath(posixpath.join(cwd, words[1]))
        elif words:
            commands.append((cwd, words))
        words = []
    return commands


def requirement_files(directory: str, words: list[str]) -> list[str] | None:
    """The requirement files (image paths) a ``pip install`` command installs from; None when it is no pip install."""
    while words and re.match(r"^\w+=", words[0]):  # VAR=value pip install ...
        words = words[1:]
    program = posixpath.basename(words[0]) if words else ""
    if re.fullmatch(r"pip(?:3(?:\.\d+)?)?", program):
        rest = words[1:]
    elif re.fullmatch(r"python(?:3(?:\.\d+)?)?", program) and words[1:3] == ["-m", "pip"]:
        rest = words[3:]
    else:
        return None
    verbs = [w for w in rest if not w.startswith("-")]
    if verbs[:1] != ["install"]:
        return None
    files = []
    for n, word in enumerate(rest):
        if word in ("-r", "--requirement") and n + 1 < len(rest):
            files.append(rest[n + 1])
        elif word.startswith("--requirement="):
            files.append(word.split("=", 1)[1])
        elif word.startswith("-r") and len(word) > 2 and not word.startswith("--"):
            files.append(word[2:])
    return [posixpath.normpath(posixpath.join(directory, f)) for f in files]
