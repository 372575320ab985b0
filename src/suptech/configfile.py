"""Settings an installation replaces from a TOML file (the risk rules, reconciliation's
tolerances and deadlines): read, validated by a pydantic model, refused with the file,
the key and the reason, and cached until the file changes."""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    pass


def load(path: Path | str, model: type[M], what: str) -> M:
    """The `model` in the file at `path`, or a ConfigError that names the file, the key
    and what is wrong with it (`what`: what the file holds, for the message)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the {what}: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not TOML: {e}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        why = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
                        for err in e.errors())
        raise ConfigError(f"{path}: {why}") from None


@lru_cache(maxsize=16)
def _cached(path: str, mtime: float, model: type[BaseModel], what: str) -> BaseModel:
    return load(path, model, what)


def in_force(model: type[M], what: str, shipped: Path, env: str,
             path: Path | str | None = None) -> M:
    """The settings in force: `path`'s, else the file the variable `env` names, else the
    shipped file."""
    chosen = Path(path or os.environ.get(env) or shipped)
    try:
        mtime = chosen.stat().st_mtime
    except OSError:
        return load(chosen, model, what)  # raises, naming the file
    return _cached(str(chosen), mtime, model, what)
