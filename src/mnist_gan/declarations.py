"""How a setting is declared and checked: :func:`setting` makes a dataclass field whose metadata
(help, scope, rule, choices, flag, legacy value) the rest of the package reads back as a
:class:`SettingSpec`. The declarations themselves are :class:`mnist_gan.config.GANConfig`.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mnist_gan.errors import MNISTGANError


@dataclass(frozen=True)
class Rule:
    """A check on a value, and how an error message states it (``"must be <phrase>"``)."""

    holds: Callable[[Any], bool]
    phrase: str


POSITIVE = Rule(lambda v: v > 0, "> 0")
NON_NEGATIVE = Rule(lambda v: v >= 0, ">= 0")
NOT_EMPTY = Rule(lambda v: bool(v.strip()), "that is not empty")
UNIT_OPEN = Rule(lambda v: 0 <= v < 1, "in [0, 1)")
DECAY = Rule(lambda v: 0 < v <= 1, "in (0, 1]")
FRACTION = Rule(lambda v: 0 < v < 1, "in (0, 1)")
INCREASING_PAIR = Rule(lambda v: len(v) == 2 and v[0] < v[1], "(low, high) with low < high")


def setting(
    default: Any,
    help: str,  # noqa: A002 - the declaration's own word for it
    scope: str,
    *,
    rule: Rule | None = None,
    choices: tuple[str, ...] | None = None,
    flag: str | None = None,
    internal: str | None = None,
    const: Any = None,
    legacy: Any = None,
) -> Any:
    """Declare one setting: a dataclass field whose metadata the rest of the package reads.

    ``flag`` overrides the CLI flag derived from the name (``r1_gamma`` -> ``--r1-gamma``);
    ``internal`` keeps a setting off the CLI and says why; ``const`` lets the flag be given
    without a value, which then means ``const`` (``--tensorboard`` alone). ``legacy`` is the
    value a run, model or preset saved before the setting existed behaved as: reading such a
    file back gives it that value, not today's preset default (:func:`saved_settings`).
    """
    meta = {
        "help": help,
        "scope": scope,
        "rule": rule,
        "choices": choices,
        "flag": flag,
        "internal": internal,
        "const": const,
        "legacy": legacy,
    }
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class SettingSpec:
    """A declaration read back: what :func:`setting` recorded, plus the field's type."""

    name: str
    kind: type  # int, float, str, bool or tuple
    optional: bool  # None is allowed (and means "unset")
    default: Any
    help: str
    scope: str
    rule: Rule | None
    choices: tuple[str, ...] | None
    flag: str
    internal: str | None
    const: Any = None  # the value of the flag given alone (None: the flag needs a value)
    legacy: Any = None  # the value files saved before the setting existed imply (None: default)


def read_declarations(config_class: type) -> dict[str, SettingSpec]:
    """Every field of ``config_class`` (a dataclass of :func:`setting` fields) read back."""
    hints = typing.get_type_hints(config_class)
    specs = {}
    for f in dataclasses.fields(config_class):
        hint = hints[f.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = type(None) in typing.get_args(hint)
        base = args[0] if optional else hint
        kind = typing.get_origin(base) or base
        meta = f.metadata
        specs[f.name] = SettingSpec(
            name=f.name,
            kind=kind,
            optional=optional,
            default=f.default,
            help=meta["help"],
            scope=meta["scope"],
            rule=meta["rule"],
            choices=meta["choices"],
            flag=meta["flag"] or "--" + f.name.replace("_", "-"),
            internal=meta["internal"],
            const=meta.get("const"),
            legacy=meta.get("legacy"),
        )
    return specs


def check_value(spec: SettingSpec, value: Any) -> None:
    """:class:`MNISTGANError` naming the setting when ``value`` does not fit its declaration."""
    if value is None and spec.optional:
        return
    kind_ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: is_number(value) and math.isfinite(value),
        str: isinstance(value, str),
        tuple: isinstance(value, tuple) and all(is_number(v) for v in value),
    }[spec.kind]
    ok = kind_ok and (spec.choices is None or value in spec.choices)
    ok = ok and (spec.rule is None or spec.rule.holds(value))
    if not ok:
        raise MNISTGANError(f"{spec.name} must be {describe(spec)}, got {value!r}")


def describe(spec: SettingSpec) -> str:
    """What a setting accepts, in words ("an integer > 0", "one of 'bce', 'hinge'")."""
    if spec.choices is not None:
        return "one of " + ", ".join(repr(c) for c in spec.choices)
    noun = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    text = noun.get(spec.kind, "a pair of numbers")
    if spec.rule is not None:
        text = f"{text} {spec.rule.phrase}"
    return text + (" (or unset)" if spec.optional else "")


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def jsonable(value: Any) -> Any:
    """``value`` as JSON holds it (a tuple becomes a list)."""
    return list(value) if isinstance(value, tuple) else value
