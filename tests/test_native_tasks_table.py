"""README's "Native tasks" table is what the format registry says (`lmdeck native-tasks`), and
the registry, the schema and the descriptors agree."""

import re

import yaml

from conftest import ROOT
from lmdeck import formats
from lmdeck.native_table import markdown


def test_readme_table_is_generated_from_the_registry():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- native-tasks:begin -->\n(.*?)<!-- native-tasks:end -->", readme, re.S)
    assert block, "README lacks the native-tasks block"
    assert block.group(1) == markdown(), "README's table is stale: paste the output of `lmdeck native-tasks`"


def test_schema_formats_are_the_registry():
    schema = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text(encoding="utf-8"))
    listed = schema["properties"]["benchmarks"]["items"]["properties"]["format"]["enum"]
    assert sorted(listed) == sorted(formats.FORMATS)


def test_every_format_offers_a_native_task_and_names_its_defaults():
    for fmt in formats.FORMATS.values():
        assert fmt.harnesses(), fmt.name
        for harness in fmt.harnesses():
            for kind in ("base", "chat"):
                task = fmt.variant(harness, None, fmt.default_shots, kind)
                assert task.variant in fmt.variants(harness)
