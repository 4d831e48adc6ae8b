"""Strict loading of the rule files: duplicate keys, unknown keys and duplicate codes fail."""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ftigate.law.model import Effect, Parameters, ParameterSpec, Provision, ReasonCode, Reference

RULES_PACKAGE = "ftigate.law"
RULES_DIR = "rules"


class LawError(Exception):
    """A rule file or a policy file is not valid. The message names the file."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate mapping keys instead of keeping the last one."""


def _construct_mapping(loader: yaml.BaseLoader, node: yaml.MappingNode) -> dict[Any, Any]:
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


PolicyValue = Any
"""an undated policy value, or {"values": {date: value}} for a dated one"""


@dataclass(frozen=True)
class InForce:
    """One parameter's value on a date: since when, on what reference, from which file."""

    name: str
    value: Any
    since: date | None
    """the date the value took effect; None for a policy's undated value"""
    reference: Reference | None
    origin: str
    """the rule file, or the policy file, that gives it"""


@dataclass(frozen=True)
class Law:
    """The rules: reason codes by name, every parameter's dated values, the provisions read,
    and `parameters`, the values in force on `as_of` (today unless `at` said otherwise).

    A policy file's undated value is the office's setting: it holds on every date resolved
    while that policy is in use (a batch is decided now, under the settings the office
    holds now, whatever its letter's date). A dated policy value joins the rule files'
    timeline and is resolved at the letter's date like theirs."""

    codes: dict[str, ReasonCode]
    parameters: Parameters
    provisions: dict[str, Provision] = field(repr=False)
    parameter_docs: dict[str, ParameterSpec] = field(repr=False)
    as_of: date = field(default_factory=date.today)
    policy: dict[str, PolicyValue] = field(default_factory=dict, repr=False)
    policy_origin: str = ""
    policy_sha256: str | None = None
    """SHA-256 of the policy file's bytes as read (None: no policy file)"""
    _resolved: dict[date, Law] = field(default_factory=dict, repr=False, compare=False)

    def code(self, name: str) -> ReasonCode:
        try:
            return self.codes[name]
        except KeyError:
            raise LawError(f"unknown reason code {name!r}") from None

    def effects(self) -> dict[str, Effect]:
        """Each code's effect under these parameters: the rule files' own, except where a
        setting chooses it (a policy that makes boilerplate refuse makes REASON_BOILERPLATE
        a refusing code wherever an outcome is decided)."""
        chosen = {
            "REASON_BOILERPLATE": self.parameters.boilerplate_effect,
            "IDENTITY_NOT_ESTABLISHED": self.parameters.audit_unestablished_effect,
            "NAME_UNIQUE_AT_ADDRESS": self.parameters.name_unique_at_address_effect,
        }
        return {code: chosen.get(code, rc.effect) for code, rc in self.codes.items()}

    def in_force(self, when: date) -> dict[str, InForce]:
        """Every parameter as it stood on `when`. Raises LawError for a date before a
        parameter's first value: the law is not known there, and nothing is assumed."""
        found: dict[str, InForce] = {}
        errors = []
        for name, spec in self.parameter_docs.items():
            override = self.policy.get(name)
            if name in self.policy and not _is_dated(override):
                found[name] = InForce(name, override, None, None, self.policy_origin)
                continue
            entries: dict[date, InForce] = {
                day: InForce(name, dated.value, day, dated.reference, self._file_of(name))
                for day, dated in spec.values.items()
            }
            if override is not None and _is_dated(override):
                for day, value in override["values"].items():
                    entries[day] = InForce(name, value, day, None, self.policy_origin)
            standing = [entries[day] for day in sorted(entries) if day <= when]
            if not standing:
                errors.append(f"{name} (its first value is dated {min(entries).isoformat()})")
                continue
            found[name] = standing[-1]
        if errors:
            raise LawError(f"no law known on {when.isoformat()} for: {', '.join(errors)}")
        return found

    def at(self, when: date) -> Law:
        """The same law with `parameters` as they stood on `when` (a letter's date)."""
        if when == self.as_of:
            return self
        hit = self._resolved.get(when)
        if hit is not None:
            return hit
        parameters = _validated(self.in_force(when), f"the law on {when.isoformat()}")
        resolved = Law(
            self.codes, parameters, self.provisions, self.parameter_docs, when, self.policy,
            self.policy_origin, policy_sha256=self.policy_sha256, _resolved=self._resolved,
        )  # fmt: skip
        self._resolved[when] = resolved
        return resolved

    def change_dates(self) -> list[date]:
        """Every date on which some parameter took a new value."""
        days = {day for spec in self.parameter_docs.values() for day in spec.values}
        for value in self.policy.values():
            if _is_dated(value):
                days |= set(value["values"])
        return sorted(days)

    def with_policy(self, overrides: dict[str, Any], origin: str, *, policy_sha256: str | None = None) -> Law:
        """The same law with some parameters replaced, validated as strictly as the defaults:
        undated values at once, dated ones on each of their dates. `policy_sha256` names the
        file the overrides were read from; without it the law keeps the file it had."""
        unknown = sorted(set(overrides) - set(Parameters.model_fields))
        if unknown:
            raise LawError(f"{origin}: unknown policy setting(s): {', '.join(unknown)}")
        policy = dict(self.policy)
        for name, value in overrides.items():
            if isinstance(value, dict) and "values" in value:
                policy[name] = _dated_policy(name, value, origin)
            else:
                policy[name] = value
        base = Law(
            self.codes, self.parameters, self.provisions, self.parameter_docs, date.min, policy, origin,
            policy_sha256 or self.policy_sha256,
        )  # fmt: skip
        for when in sorted({self.as_of, *base.change_dates()}):
            try:
                in_force = base.in_force(when)
            except LawError:
                continue  # before the law's first date: nothing stands there to validate
            _validated(in_force, origin)
        return base.at(self.as_of)

    def _file_of(self, name: str) -> str:
        for rel, provision in self.provisions.items():
            if name in provision.parameters:
                return rel
        return ""


def _is_dated(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"values"}


def _dated_policy(name: str, value: dict[str, Any], origin: str) -> dict[str, dict[date, Any]]:
    if set(value) != {"values"} or not isinstance(value["values"], dict) or not value["values"]:
        raise LawError(f"{origin}: {name}: a dated setting is {{values: {{YYYY-MM-DD: value}}}} alone")
    for day in value["values"]:
        if not isinstance(day, date) or isinstance(day, datetime):
            raise LawError(f"{origin}: {name}: {day!r} is not a date (YYYY-MM-DD)")
    return {"values": dict(value["values"])}


def _validated(in_force: dict[str, InForce], origin: str) -> Parameters:
    try:
        return Parameters.model_validate({name: entry.value for name, entry in in_force.items()})
    except ValidationError as exc:
        raise LawError(f"{origin}: {_validation_summary(exc)}") from None


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


_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@cache
def _module_source(module: str) -> tuple[str, ast.Module] | None:
    relative = Path(*module.split(".")[1:])
    for candidate in (_PACKAGE_ROOT / relative.with_suffix(".py"), _PACKAGE_ROOT / relative / "__init__.py"):
        if candidate.is_file():
            text = candidate.read_text(encoding="utf-8")
            return text, ast.parse(text)
    return None


def implementation_problem(path: str, code: str) -> str | None:
    """Why `path` (ftigate.module.function) cannot be the implementation of `code`, or None.

    The module is read, not imported (the law loads before the stages it names, and loading
    it must not run them): the function must be defined at its top level and the module
    must name the code, so a rule never points at a function that cannot emit it."""
    parts = path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        found = _module_source(".".join(parts[:split]))
        if found is None:
            continue
        text, tree = found
        names = parts[split:]
        scope: list[ast.stmt] = tree.body
        for name in names:
            match = next(
                (n for n in scope if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name == name), None
            )
            if match is None:
                return f"implemented_by {path}: no function {name} in {'.'.join(parts[:split])}"
            scope = match.body
        if f'"{code}"' not in text:
            return f"implemented_by {path}: its module never names {code}"
        return None
    return f"implemented_by {path}: no such module in ftigate"


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
                implemented_by=rule.implemented_by,
            )
            for path in rule.implemented_by:
                problem = implementation_problem(path, rule.code)
                if problem:
                    errors.append(f"{rel}: {rule.code}: {problem}")
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
    law = Law(codes, Parameters.model_construct(), provisions, parameter_docs, date.min)
    # Every dated value is checked where it stands, not only today's: a bad value from 2011
    # must not wait for a 2011 letter to be found.
    for day in law.change_dates():
        values = {
            name: spec.values[max((d for d in spec.values if d <= day), default=spec.first_date())].value
            for name, spec in parameter_docs.items()
        }
        try:
            Parameters.model_validate(values)
        except ValidationError as exc:
            raise LawError(f"rule-file parameters on {day.isoformat()}: {_validation_summary(exc)}") from None
    return law.at(date.today())


CASES_DIR = "cases"


class _CaseTableLoader(yaml.BaseLoader):
    """Case tables keep every scalar a string, as a request file's fields are."""


_CaseTableLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_case_table(text: str, origin: str) -> dict[str, Any]:
    try:
        table = yaml.load(text, Loader=_CaseTableLoader)
    except yaml.YAMLError as exc:
        raise LawError(f"case table {origin}: {_one_line(str(exc))}") from None
    if not isinstance(table, dict):
        raise LawError(f"case table {origin}: not a mapping")
    return table


def case_tables(code: str) -> dict[str, dict[str, Any]]:
    """The case tables that test `code`, by stage (screen, identity, audit): each a mapping
    with `fires` and `clears` lists (src/ftigate/law/cases/STAGE/CODE.yaml)."""
    root = resources.files(RULES_PACKAGE).joinpath(CASES_DIR)
    tables: dict[str, dict[str, Any]] = {}
    for stage in sorted((c for c in root.iterdir() if c.is_dir()), key=lambda c: c.name):
        table = stage.joinpath(f"{code}.yaml")
        if table.is_file():
            text = table.read_text(encoding="utf-8")
            tables[stage.name] = _read_case_table(text, f"{stage.name}/{code}.yaml")
    return tables


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
        raw = policy.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LawError(f"{policy}: cannot read policy file ({exc.__class__.__name__})") from None
    data = load_yaml_strict(text, str(policy))
    if data is not None and not isinstance(data, dict):
        raise LawError(f"{policy}: a policy file is a mapping of setting names to values")
    # The digest of the bytes read, not of the file later: the ledger names what decided.
    return law.with_policy(data or {}, str(policy), policy_sha256=hashlib.sha256(raw).hexdigest())
