"""The rubric template library: ready-made rubrics shipped with assay, and editable copies of them.

Each template is a YAML file in `assay/rubric/templates/`: a full rubric (name, kind, description, scale, a
meaning for every level, and a judge template) plus a top-level `summary:` line used in listings. The summary
is not part of the rubric, so it is removed before validation.

    load_template("accuracy")                                # the rubric as shipped
    load_template("accuracy", name="facts", scale={"min": 1, "max": 10})
    template_yaml("accuracy", new_name="facts")              # an editable YAML copy, with a header comment

Overriding the scale without giving `levels` keeps the template's level meanings as anchors, each moved to the
nearest level of the new scale (the lowest stays the lowest, the highest the highest). When several meanings
land on the same level, the one that fits it best is kept.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from assay.errors import RubricError
from assay.rubric.load import rubric_from_mapping
from assay.rubric.model import Rubric, Scale
from assay.yamlfile import parse_yaml

_SUFFIX = ".yaml"
_PLAIN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def _folder() -> Any:
    return resources.files("assay.rubric").joinpath("templates")


@lru_cache(maxsize=1)
def _names() -> tuple[str, ...]:
    return tuple(sorted(entry.name[: -len(_SUFFIX)] for entry in _folder().iterdir()
                        if entry.name.endswith(_SUFFIX) and entry.is_file()))


def template_names() -> list[str]:
    """Names of the shipped rubric templates, sorted."""
    return list(_names())


def _unknown(name: str) -> RubricError:
    names = _names()
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return RubricError(f"no rubric template named {name!r}; {hint}available: {', '.join(names)}")


@lru_cache(maxsize=64)
def _source(name: str) -> str:
    if name not in _names():
        raise _unknown(name)
    return str(_folder().joinpath(name + _SUFFIX).read_text(encoding="utf-8"))


def _data(name: str) -> dict[str, Any]:
    data = parse_yaml(_source(name), source=f"rubric template {name!r}", error=RubricError)
    if not isinstance(data, dict):  # pragma: no cover - a packaging mistake, caught by the tests
        raise RubricError(f"rubric template {name!r} is not a mapping")
    return data


def template_summaries() -> list[dict[str, Any]]:
    """One entry per template: name, kind, scale ({min, max}) and a one-sentence summary."""
    out = []
    for name in _names():
        data = _data(name)
        rubric = load_template(name)
        summary = str(data.get("summary") or rubric.description.strip().split(". ")[0]).strip()
        out.append({"name": name, "kind": rubric.kind,
                    "scale": {"min": rubric.scale.min, "max": rubric.scale.max}, "summary": summary})
    return out


def rescale_levels(levels: dict[int, str], old: Scale, new: Scale) -> dict[int, str]:
    """Move level meanings written for one scale to the nearest levels of another (see the module docstring)."""
    span_old, span_new = old.max - old.min, new.max - new.min
    best: dict[int, tuple[float, int]] = {}
    for level in sorted(levels):
        exact = new.min + (level - old.min) * span_new / span_old
        target = min(new.max, max(new.min, math.floor(exact + 0.5)))
        distance = abs(exact - target)
        if target not in best or distance < best[target][0]:
            best[target] = (distance, level)
    return {target: levels[level] for target, (_, level) in sorted(best.items())}


def load_template(name: str, /, **overrides: Any) -> Rubric:
    """A shipped template as a `Rubric`, with fields (name, description, scale, levels, ...) overridden.

    Raises RubricError for an unknown template (listing the available ones) or an invalid override.
    """
    data = _data(name)
    data.pop("summary", None)
    if "scale" in overrides and "levels" not in overrides and data.get("levels"):
        try:
            old = Scale.model_validate(data.get("scale") or {})
            new = overrides["scale"] if isinstance(overrides["scale"], Scale) else \
                Scale.model_validate(overrides["scale"])
        except ValidationError:
            pass  # the rubric's own validation below reports a bad scale with its field named
        else:
            if (old.min, old.max) != (new.min, new.max):
                data["levels"] = rescale_levels({int(k): v for k, v in data["levels"].items()}, old, new)
    data.update(overrides)
    return rubric_from_mapping(data, where=f"rubric template {name!r}")


def _package_version() -> str:
    try:
        from importlib.metadata import version
        return version("assay")
    except Exception:  # pragma: no cover - running from a source tree without metadata
        return "unknown"


def _yaml_name(name: str) -> str:
    if _PLAIN_NAME.match(name) and parse_yaml(name, source="a rubric name", error=RubricError) == name:
        return name
    return json.dumps(name)


def template_yaml(name: str, *, new_name: str | None = None) -> str:
    """An editable YAML copy of a template: the shipped file (with its comments), without the `summary` line,
    renamed to `new_name` if given, under a header comment saying where it came from. It loads back to
    `load_template(name, name=new_name)`."""
    source = _source(name)
    summary = _data(name).get("summary")
    if new_name is not None:
        load_template(name, name=new_name)  # a bad name fails here, with the field named
    lines: list[str] = []
    in_summary = False
    for line in source.splitlines():
        if in_summary and line[:1] in (" ", "\t"):
            continue  # a summary continued on indented lines
        in_summary = line.startswith("summary:")
        if in_summary:
            continue
        if new_name is not None and line.startswith("name:"):
            line = f"name: {_yaml_name(new_name)}"
        lines.append(line)
    header = [f"# Copied from the assay rubric template {name!r} (assay {_package_version()})."]
    if summary:
        header.append(f"# {summary}")
    header += ["# Edit freely, then check it with `assay rubric lint FILE` and try it on a dataset row with",
               "# `assay rubric test FILE --dataset NAME --random --judge MODEL`.", ""]
    return "\n".join(header + lines) + "\n"


class _Flow(dict):  # type: ignore[type-arg]
    """A mapping written in flow style: `scale: {min: 1, max: 5}`."""


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value.strip("\n") else ">" if len(value) > 80 else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(_Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))


def rubric_to_yaml(rubric: Rubric, *, header: str | None = None) -> str:
    """A rubric as readable YAML (fields in the usual order, multi-line text as blocks), optionally under a
    comment header (each line is prefixed with '# '). Loads back to an equal rubric."""
    data: dict[str, Any] = {"name": rubric.name, "kind": rubric.kind, "description": rubric.description,
                            "scale": _Flow(min=rubric.scale.min, max=rubric.scale.max)}
    if rubric.levels:
        data["levels"] = dict(sorted(rubric.levels.items()))
    if rubric.template is not None:
        data["template"] = rubric.template
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    if not header:
        return body
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + body
