"""Strict loading of the rule files: duplicate keys, unknown keys and duplicate codes fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ftigate.law.model import Parameters, ParameterSpec, Provision, ReasonCode

RULES_PACKAGE = "ftigate.law"
RULES_DIR = "rules"


class LawError(Exception):
    """A rule file or a policy file is not valid. The message names the file."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate mapping keys instead of keeping the last one."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    # A date-shaped value that is no date (2025-13-45) raised a bare ValueError.
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, "not a valid date (year-month-day)", node.start_mark
        ) from None


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def load_yaml_strict(text: str, origin: str) -> Any:
    """Parse YAML text, refusing duplicate keys; errors name `origin`, the line and the
    column, never quote the text (PyYAML's own messages include a snippet of it)."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        raise LawError(f"{origin}: {_marked(exc)}") from None
    except yaml.YAMLError as exc:
        raise LawError(f"{origin}: {_one_line(str(exc))}") from None
    except RecursionError:
        raise LawError(f"{origin}: nested too deeply to be a letter, rule or policy file") from None


def _marked(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or exc.context or "not valid YAML"
    mark = exc.problem_mark or exc.context_mark
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return _one_line(problem) + where


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Law:
    """The rules in force: reason codes by name, the parameters, and the provisions read."""

    codes: dict[str, ReasonCode]
    parameters: Parameters
    provisions: dict[str, Provision] = field(repr=False)
    parameter_docs: dict[str, ParameterSpec] = field(repr=False)

    def code(self, name: str) -> ReasonCode:
        try:
            return self.codes[name]
        except KeyError:
            raise LawError(f"unknown reason code {name!r}") from None

    def with_policy(self, overrides: dict[str, Any], origin: str) -> Law:
        """The same law with some parameters replaced, validated as strictly as the defaults."""
        unknown = sorted(set(overrides) - set(Parameters.model_fields))
        if unknown:
            raise LawError(f"{origin}: unknown policy setting(s): {', '.join(unknown)}")
        merged = self.parameters.model_dump() | overrides
        try:
            parameters = Parameters.model_validate(merged)
        except ValidationError as exc:
            raise LawError(f"{origin}: {_validation_summary(exc)}") from None
        return Law(self.codes, parameters, self.provisions, self.parameter_docs)


def _validation_summary(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _rule_files() -> list[tuple[str, str]]:
    root = resources.files(RULES_PACKAGE).joinpath(RULES_DIR)
    found: list[tuple[str, str]] = []

    def walk(node: Any, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            rel = f"{prefix}/{child.name}" if prefix else child.name
            if child.is_dir():
                walk(child, rel)
            elif child.name.endswith(".yaml"):
                found.append((rel, child.read_text(encoding="utf-8")))

    walk(root, "")
    return found


def parse_provisions(files: list[tuple[str, str]]) -> dict[str, Provision]:
    """Validate every rule file, collecting all errors before failing (a lint over the law)."""
    provisions: dict[str, Provision] = {}
    errors: list[str] = []
    for rel, text in files:
        try:
            data = load_yaml_strict(text, rel)
            provisions[rel] = Provision.model_validate(data)
        except LawError as exc:
            errors.append(str(exc))
        except ValidationError as exc:
            errors.append(f"{rel}: {_validation_summary(exc)}")
    if errors:
        raise LawError("invalid rule files: " + " | ".join(errors))
    return provisions


def build_law(provisions: dict[str, Provision]) -> Law:
    codes: dict[str, ReasonCode] = {}
    parameter_docs: dict[str, ParameterSpec] = {}
    errors: list[str] = []
    for rel, prov in provisions.items():
        for rule in prov.rules:
            if rule.code in codes:
                errors.append(f"{rel}: code {rule.code} already defined in {codes[rule.code].rule_file}")
                continue
            codes[rule.code] = ReasonCode(
                code=rule.code,
                scope=rule.scope,
                effect=rule.effect,
                message=" ".join(rule.message.split()),
                citation=prov.citation,
                provision_title=prov.title,
                provision_text=" ".join(prov.text.split()),
                source=prov.source,
                rule_file=rel,
            )
        for name, spec in prov.parameters.items():
            if name in parameter_docs:
                errors.append(f"{rel}: parameter {name} defined twice")
            parameter_docs[name] = spec
    missing = sorted(set(Parameters.model_fields) - set(parameter_docs))
    extra = sorted(set(parameter_docs) - set(Parameters.model_fields))
    if missing:
        errors.append(f"parameters with no rule file: {', '.join(missing)}")
    if extra:
        errors.append(f"rule-file parameters the code does not know: {', '.join(extra)}")
    if errors:
        raise LawError("; ".join(errors))
    try:
        parameters = Parameters.model_validate({k: v.value for k, v in parameter_docs.items()})
    except ValidationError as exc:
        raise LawError(f"rule-file parameters: {_validation_summary(exc)}") from None
    return Law(codes, parameters, provisions, parameter_docs)


@cache
def default_law() -> Law:
    """The law as shipped in the package's rule files."""
    return build_law(parse_provisions(_rule_files()))


def load_law(policy: Path | None = None) -> Law:
    """The shipped law, with a policy file's overrides applied when one is given."""
    law = default_law()
    if policy is None:
        return law
    try:
        text = policy.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LawError(f"{policy}: cannot read policy file ({exc.__class__.__name__})") from None
    data = load_yaml_strict(text, str(policy))
    if data is None:
        return law
    if not isinstance(data, dict):
        raise LawError(f"{policy}: a policy file is a mapping of setting names to values")
    return law.with_policy(data, str(policy))
