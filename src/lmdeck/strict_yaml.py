"""Reading a config YAML strictly: what PyYAML (and so Snakemake) silently accepts is refused.

- a key given twice in one mapping (PyYAML keeps the last one: the first is lost unseen);
- a document that is not one mapping (empty, a list, several documents);
- anchors and aliases that expand to a huge structure ("billion laughs"): PyYAML shares the
  aliased objects, but anything that walks the config (JSON dumps of job specs, deep copies)
  expands them until memory runs out.

A JSON config (Snakemake accepts one) is read as JSON, duplicate keys refused too. Each error is
one line naming the file and, where known, the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import yaml

# Far above any real config (the BlueLM config is a few thousand nodes), far below trouble.
MAX_NODES = 100_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


class StrictYAMLError(ValueError):
    """A config file that is not plain, unambiguous YAML; the message names the file and line."""


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        # Checked before SafeLoader folds in `<<` merges, whose keys an explicit key may override.
        if isinstance(node, yaml.MappingNode):
            first_line: dict[object, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in first_line:
                        first = first_line[key]
                        earlier = "earlier on the same line" if first == line else f"at line {first}"
                        raise StrictYAMLError(
                            f"line {line}: duplicate key {key!r} (first given {earlier}); "
                            "YAML would silently keep only the last one"
                        )
                    first_line[key] = line
                except TypeError:
                    pass  # an unhashable key: SafeLoader itself refuses it below
        return super().construct_mapping(node, deep=deep)


def _expanded_size(root: yaml.Node) -> None:
    """Count the nodes the document expands to, aliases counted at every use (memoised per
    node, so the count itself stays cheap); refuse beyond MAX_NODES or a recursive alias."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: yaml.Node) -> int:
        ident = id(node)
        if ident in sizes:
            return sizes[ident]
        if ident in in_progress:
            raise StrictYAMLError(
                f"line {node.start_mark.line + 1}: a recursive alias (a structure that contains itself)"
            )
        in_progress.add(ident)
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        total = 1 + sum(size(child) for child in children)
        in_progress.discard(ident)
        if total > MAX_NODES:
            raise StrictYAMLError(
                f"line {node.start_mark.line + 1}: anchors/aliases expand to more than "
                f"{MAX_NODES} values here; write the structure out instead"
            )
        sizes[ident] = total
        return total

    size(root)


def _json_object(pairs: list[tuple[str, object]]) -> dict:
    found: dict = {}
    for key, value in pairs:
        if key in found:
            raise StrictYAMLError(f"duplicate key {key!r} in one JSON object; JSON readers keep only the last one")
        found[key] = value
    return found


def loads(text: str, source: str = "<string>") -> dict:
    """The mapping `text` holds; StrictYAMLError (message starting with `source`) otherwise."""
    # Snakemake reads a config as JSON first (JSON has no aliases, and may be tab-indented,
    # which YAML refuses), then as YAML.
    try:
        config = json.loads(text, object_pairs_hook=_json_object)
    except json.JSONDecodeError:
        pass
    except StrictYAMLError as err:
        json_error = StrictYAMLError(f"{source}: {err}")
        try:
            _loads_yaml(text, source)  # JSON is YAML too, and YAML's error names both lines
        except StrictYAMLError as yaml_error:
            if "duplicate key" in str(yaml_error):
                raise yaml_error from None
        raise json_error from None
    else:
        if not isinstance(config, dict):
            raise StrictYAMLError(f"{source}: the config must be a JSON object, not a {type(config).__name__}")
        return config
    return _loads_yaml(text, source)


def _loads_yaml(text: str, source: str) -> dict:
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise StrictYAMLError("the file is empty; a config is a YAML mapping")
        if not isinstance(node, yaml.MappingNode):
            raise StrictYAMLError(
                f"line {node.start_mark.line + 1}: the config must be a YAML mapping "
                f"(key: value lines), not a {node.id}"
            )
        _expanded_size(node)
        return loader.construct_document(node)
    except StrictYAMLError as err:
        sep = " " if str(err).startswith("line ") else ": "
        raise StrictYAMLError(f"{source}{sep}{err}") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" line {mark.line + 1}" if mark else ""
        problem = ", ".join(str(part) for part in (err.context, err.problem) if part) or "invalid YAML"
        problem = " ".join(problem.split())
        raise StrictYAMLError(f"{source}{where}: {problem}") from None
    except yaml.YAMLError as err:
        raise StrictYAMLError(f"{source}: {' '.join(str(err).split())}") from None
    except RecursionError:
        raise StrictYAMLError(f"{source}: nested too deeply to be a config") from None
    finally:
        loader.dispose()


def load(path: str | Path) -> dict:
    return loads(Path(path).read_text(encoding="utf-8"), str(path))


def check_files(paths: Iterable[str | Path]) -> None:
    """Re-read the config files Snakemake loaded (its own loader accepts all of the above)."""
    for path in paths:
        load(path)
