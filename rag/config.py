"""Configuration: the one place that reads environment variables and `.env`.

Every other module receives a `Settings` object (or plain values taken from it);
nothing below this module looks at `os.environ`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

RetrievalMode = Literal["hybrid", "dense", "bm25"]


class Settings(BaseSettings):
    """All knobs of the pipeline. Environment variables are `RAG_<FIELD>` unless noted."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- store -------------------------------------------------------------------
    data_dir: Path = Field(Path(".rag"), description="Embedded Chroma store, BM25 index, embedding cache.")
    collection: str = Field("news", description="Chroma collection (one per corpus).")
    chroma_host: str | None = Field(
        None,
        validation_alias=AliasChoices("CHROMA_HOST", "RAG_CHROMA_HOST"),
        description="Chroma server host; unset = embedded PersistentClient under data_dir.",
    )
    chroma_port: int = Field(8000, validation_alias=AliasChoices("CHROMA_PORT", "RAG_CHROMA_PORT"))
    chroma_token: SecretStr | None = Field(None, validation_alias=AliasChoices("CHROMA_TOKEN", "RAG_CHROMA_TOKEN"))

    # --- loading -------------------------------------------------------------------
    max_article_bytes: int = Field(
        5_000_000, description="Larger articles (file or record text) are reported and skipped."
    )
    max_file_bytes: int = Field(500_000_000, description="Larger .json/.jsonl/.csv files are reported and skipped.")
    csv_title_column: str = "headlines"
    csv_text_column: str = "articles"
    csv_date_column: str = "published"
    csv_source_column: str = "source"
    csv_url_column: str = "url"

    # --- chunking and embedding ------------------------------------------------------
    chunk_tokens: int = Field(200, description="Target chunk size in wordpiece tokens (embedder truncates at 256).")
    chunk_overlap: int = Field(40, description="Tokens of trailing sentences repeated at the start of the next chunk.")
    embedder: str = Field(
        "minilm",
        description="'minilm' (offline int8 ONNX all-MiniLM-L6-v2) or 'openai:<model>' e.g. openai:text-embedding-3-small.",
    )
    embed_batch_size: int = 64

    # --- retrieval -------------------------------------------------------------------
    top_k: int = Field(5, description="Passages given to the answerer.")
    retrieval_mode: RetrievalMode = "hybrid"
    candidates: int = Field(60, description="Candidates taken from each ranking before fusion.")
    query_hints: bool = Field(True, description="Boost articles from sources and dates named in the question.")

    # --- answering -------------------------------------------------------------------
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "RAG_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(None, validation_alias=AliasChoices("OPENAI_BASE_URL", "RAG_OPENAI_BASE_URL"))
    llm_model: str = Field("gpt-4o-mini", description="Chat model used when OPENAI_API_KEY is set.")
    llm_timeout: float = Field(60.0, description="Seconds before an LLM request is abandoned.")
    min_support: float = Field(0.36, description="Extractive answerer: a sentence must score at least this to be used.")

    # --- web app -----------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 7860
    auth_user: str | None = None
    auth_password: SecretStr | None = None
    share: bool = False
    concurrency: int = Field(4, description="Chat requests processed at once by the web app.")

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]", name):
            raise ValueError(
                f"collection name {name!r} must be 3-63 letters, digits, '.', '_' or '-', "
                "starting and ending with a letter or digit"
            )
        return name

    @property
    def uses_server(self) -> bool:
        return bool(self.chroma_host)

    @property
    def uses_llm(self) -> bool:
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())
