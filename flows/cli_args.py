"""CLI options made from a request dataclass: one option per field, its help and default taken from the field."""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, Literal


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show (required, or unset meaning "see help")."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.required or action.default is None:
            return action.help
        return super()._get_help_string(action)


def _plain_type(hint: Any) -> tuple[Any, tuple[str, ...] | None]:
    """(argparse type, choices) of a field's type hint (``X | None`` -> X; ``Literal[...]`` -> choices)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = args[0]
    if typing.get_origin(hint) is Literal:
        return str, tuple(typing.get_args(hint))
    return hint, None


def option_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def request_fields(request_cls: type, command: str) -> list[dataclasses.Field]:
    """The fields of ``request_cls`` that ``command`` offers (a field's ``only`` metadata limits it)."""
    fields = []
    for f in dataclasses.fields(request_cls):
        only = f.metadata.get("only")
        if only is None or command in only.split(","):
            fields.append(f)
    return fields


def add_request_options(parser: argparse.ArgumentParser, request_cls: type, command: str,
                        choices: dict[str, Any] | None = None, required: tuple[str, ...] = ()) -> None:
    """One option per field of ``request_cls`` offered by ``command``; ``--help`` shows each default."""
    hints = typing.get_type_hints(request_cls)
    for f in request_fields(request_cls, command):
        help_text = f.metadata.get("help", "").replace("%", "%%")  # argparse %-formats help ("95 % CIs")
        kwargs: dict[str, Any] = {"help": help_text, "dest": f.name}
        kind, literal = _plain_type(hints[f.name])
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = f.default
        if kind is bool:  # off by default: a flag; on by default: --x / --no-x
            kwargs["action"] = argparse.BooleanOptionalAction if f.default else "store_true"
        else:
            if typing.get_origin(kind) is list:
                kind, kwargs["nargs"] = typing.get_args(kind)[0], "+"
            kwargs["type"] = kind
            kwargs["choices"] = (choices or {}).get(f.name, f.metadata.get("choices", literal))
        if f.name in required:
            kwargs["required"] = True
        parser.add_argument(option_name(f.name), *f.metadata.get("aliases", ()), **kwargs)


def request_from_args(request_cls: type, args: argparse.Namespace, command: str, **fixed: Any) -> Any:
    """The request the parsed options describe (``fixed``: fields the sub-command itself sets)."""
    values = {f.name: getattr(args, f.name) for f in request_fields(request_cls, command)}
    return request_cls(**values, **fixed)
