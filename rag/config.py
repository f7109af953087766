"""Configuration: the one place that reads environment variables and `.env`.

Every other module receives a `Settings` object (or plain values taken from it);
nothing below this module looks at `os.environ`. The CLI's help and the README's
configuration table (`python -m rag.config` prints it) are made from these fields.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, get_args

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

RetrievalMode = Literal["hybrid", "dense", "bm25"]
LLM_PROVIDERS = ("openai", "openai-like", "anthropic", "ollama")
MAX_TOP_K = 50  # passages per answer at most (the web's slider stops at 20)


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
    chroma_port: int = Field(
        8000,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("CHROMA_PORT", "RAG_CHROMA_PORT"),
        description="Chroma server port.",
    )
    chroma_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("CHROMA_TOKEN", "RAG_CHROMA_TOKEN"),
        description="Bearer token for a Chroma server that needs one.",
    )

    # --- loading -------------------------------------------------------------------
    max_article_bytes: int = Field(
        500_000, ge=1, description="Larger articles (the text of a file, record or web page) are reported and skipped."
    )
    max_file_bytes: int = Field(
        500_000_000, ge=1, description="Larger .json/.jsonl/.csv files are reported and skipped."
    )
    csv_title_column: str = Field("headlines", description="CSV column with the title.")
    csv_text_column: str = Field("articles", description="CSV column with the article text.")
    csv_date_column: str = Field("published", description="CSV column with the publication date.")
    csv_source_column: str = Field("source", description="CSV column with the source (else the file name).")
    csv_url_column: str = Field("url", description="CSV column with the article URL.")

    # --- web sources (rag.ingest.web.fetch) ---------------------------------------------------------
    fetch_connect_timeout: float = Field(5.0, gt=0, description="Seconds to connect to a web server.")
    fetch_read_timeout: float = Field(15.0, gt=0, description="Seconds to wait for each piece of a response.")
    fetch_total_timeout: float = Field(60.0, gt=0, description="Seconds for a whole page, however slowly it arrives.")
    fetch_max_bytes: int = Field(5_000_000, ge=1, description="Larger pages and feeds are reported and skipped.")
    fetch_max_redirects: int = Field(
        5, ge=0, description="Redirects followed before a page is reported (a redirect loop?)."
    )
    fetch_host_delay: float = Field(1.0, ge=0, description="Seconds between two requests to the same host.")
    fetch_concurrency: int = Field(4, ge=1, description="Pages fetched at once (different hosts in parallel).")
    fetch_allow_private: bool = Field(
        False,
        description=(
            "Allow fetching from loopback, private, link-local and reserved addresses (refused by default, "
            "for the CLI and the web app alike)."
        ),
    )

    # --- chunking and embedding ------------------------------------------------------
    chunk_tokens: int = Field(
        200, ge=1, description="Target chunk size in wordpiece tokens (embedder truncates at 256)."
    )
    chunk_overlap: int = Field(
        40, ge=0, description="Tokens of trailing sentences repeated at the start of the next chunk."
    )
    embedder: str = Field(
        "minilm",
        description=(
            "'minilm' (offline int8 ONNX all-MiniLM-L6-v2) or 'openai:<model>' e.g. openai:text-embedding-3-small; "
            "a collection keeps the embedder it was built with."
        ),
    )
    embed_batch_size: int = Field(
        8, ge=1, description="Texts per embedding call (larger batches are no faster on CPU and need more memory)."
    )
    write_wait: float = Field(
        600.0,
        ge=0,
        description=(
            "Seconds an ingest or removal waits for another writer of the same collection before giving up "
            "(readers never wait)."
        ),
    )

    # --- retrieval -------------------------------------------------------------------
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description=f"Passages given to the answerer (1 to {MAX_TOP_K}).")
    retrieval_mode: RetrievalMode = Field("hybrid", description="hybrid (dense + BM25 fused), dense or bm25.")
    candidates: int = Field(60, ge=1, description="Candidates taken from each ranking before fusion.")
    query_hints: bool = Field(True, description="Boost articles from sources and dates named in the question.")

    # --- answering -------------------------------------------------------------------
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("OPENAI_API_KEY", "RAG_OPENAI_API_KEY"),
        description="Set it to have a chat model write the answers (else the offline extractive answerer).",
    )
    openai_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "RAG_OPENAI_BASE_URL"),
        description="An OpenAI-compatible server (Ollama, vLLM, llama.cpp); unset = OpenAI.",
    )
    llm: str | None = Field(
        None,
        description=(
            "Chat model as 'provider:model': openai:gpt-4o-mini, openai-like:llama3.1 (any OpenAI-protocol server "
            "at OPENAI_BASE_URL), anthropic:claude-3-5-haiku-latest (extra .[anthropic]), ollama:llama3.1 "
            "(extra .[ollama]); 'none' = the offline extractive answerer. Unset: openai:<llm_model> when "
            "OPENAI_API_KEY is set (openai-like:<llm_model> when OPENAI_BASE_URL is set too), else none."
        ),
    )
    llm_model: str = Field("gpt-4o-mini", description="Chat model used when OPENAI_API_KEY is set and RAG_LLM is not.")
    llm_timeout: float = Field(
        60.0,
        gt=0,
        description=(
            "Seconds for a whole turn with a chat model: the follow-up rewrite, the answer and the claim review "
            "share them; a stream still running then is cut and the local answer shown."
        ),
    )
    llm_retries: int = Field(
        1, ge=0, description="Retries of a failed model request (unreachable, HTTP 429 or 5xx), within the turn's time."
    )
    llm_max_tokens: int = Field(512, ge=1, description="Most tokens a chat model may write per call (max_tokens).")
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature of the chat model.")
    llm_prices: dict[str, tuple[float, float]] = Field(
        {},
        description=(
            'Chat-model prices in USD per million tokens [input, output], as JSON, e.g. {"llama3.1": [0, 0]}; '
            "added to the built-in table (gpt-4o-mini, gpt-4o, gpt-4.1*, gpt-3.5-turbo, claude-3-5*, claude-3-7*) "
            "for the estimated cost of each answer."
        ),
    )
    llm_top_k: int = Field(
        8,
        ge=1,
        le=MAX_TOP_K,
        description=f"Passages given to a chat model, 1 to {MAX_TOP_K} (the extractive answerer uses top_k).",
    )
    llm_context_window: int = Field(8192, ge=1, description="Context window assumed for openai-like models (tokens).")
    anthropic_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("ANTHROPIC_API_KEY", "RAG_ANTHROPIC_API_KEY"),
        description="API key for RAG_LLM=anthropic:MODEL.",
    )
    ollama_base_url: str = Field("http://127.0.0.1:11434", description="Ollama server for RAG_LLM=ollama:MODEL.")
    verify: Literal["local", "model"] = Field(
        "local",
        description=(
            "Claim checks of a chat model's answer: 'local' (numbers, names, polarity, speaker, similarity) or "
            "'model' (also one batched call asking the chat model to judge every claim against its cited passages)."
        ),
    )
    answer_threshold: float | None = Field(
        None,
        description=(
            "Extractive answerer: decline when the calibrated probability that its lead answers is below this; "
            "unset = the thresholds trained with the weights (rag/answer/ranker.json, also on relevance)."
        ),
    )
    llm_gate: Literal["off", "calibrated"] = Field(
        "calibrated",
        description=(
            "Before a chat model is asked: 'calibrated' skips the request when the passages are clearly not about "
            "the question (the relevance model's gate threshold, rag/answer/ranker.json); 'off' always asks the model."
        ),
    )

    # --- web app -----------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Web app address.")
    port: int = Field(7860, ge=1, le=65535, description="Web app port (1 to 65535).")
    auth_user: str | None = Field(None, description="With auth_password: the web app asks for a login.")
    auth_password: SecretStr | None = Field(None, description="Password for auth_user.")
    share: bool = Field(False, description="Ask Gradio for a public share link (needs internet).")
    allow_anonymous_writes: bool = Field(
        False,
        description=(
            "Let anyone who can open the web app add, upload and remove articles when it listens beyond loopback "
            "(or shares a link) without RAG_AUTH_USER/RAG_AUTH_PASSWORD; otherwise it starts read-only."
        ),
    )
    concurrency: int = Field(4, ge=1, description="Answers the web app (chat and API) works on at once.")
    queue_size: int = Field(
        16, ge=0, description="Questions that may wait for one of those answer slots; more are refused with a message."
    )
    questions_per_minute: int = Field(
        20, ge=1, description="Questions one client (IP address) may ask the web app and its API per minute."
    )
    max_upload_files: int = Field(20, ge=1, description="Files one Library upload may hold.")
    max_upload_bytes: int = Field(20_000_000, ge=1, description="Largest file the Library accepts (bytes).")

    @field_validator("data_dir")
    @classmethod
    def _a_folder(cls, folder: Path) -> Path:
        existing = next((path for path in (folder, *folder.parents) if path.exists()), None)
        if existing is not None and not existing.is_dir():
            raise ValueError(f"{existing} is a file, not a folder; give a folder for the store (made if missing)")
        return folder

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]", name):
            raise ValueError(
                f"collection name {name!r} must be 3-63 letters, digits, '.', '_' or '-', "
                "starting and ending with a letter or digit"
            )
        return name

    @field_validator("llm")
    @classmethod
    def _llm_spec(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if value.strip().lower() == "none":
            return "none"
        provider, _, model = value.strip().partition(":")
        if provider not in LLM_PROVIDERS or not model:
            raise ValueError(
                f"{value!r} is not 'provider:model' with provider one of {', '.join(LLM_PROVIDERS)} "
                "(e.g. openai:gpt-4o-mini), or 'none'"
            )
        return f"{provider}:{model}"

    @property
    def llm_spec(self) -> tuple[str, str] | None:
        """(provider, model) of the chat model to use, or None for the offline extractive answerer."""
        if self.llm == "none":
            return None
        if self.llm:
            provider, _, model = self.llm.partition(":")
            return provider, model
        if self.openai_api_key is None or not self.openai_api_key.get_secret_value():
            return None
        return ("openai-like" if self.openai_base_url else "openai"), self.llm_model

    @property
    def uses_server(self) -> bool:
        return bool(self.chroma_host)

    @property
    def uses_llm(self) -> bool:
        return self.llm_spec is not None


def env_name(field: str) -> str:
    """The environment variable that sets `field` (its first alias, else RAG_<FIELD>)."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return f"RAG_{field.upper()}"


def default_text(field: str) -> str:
    """`field`'s default as a user writes it: unset, true/false, a number or text."""
    default = Settings.model_fields[field].default
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return str(default).lower()
    return str(default)


def retrieval_modes() -> tuple[str, ...]:
    return get_args(RetrievalMode)


def configuration_table() -> str:
    """The README's configuration table: every setting, its variable, default and meaning."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for field, info in Settings.model_fields.items():
        default = default_text(field)
        shown = default if info.default is None else f"`{default}`"
        rows.append(f"| `{env_name(field)}` | {shown} | {info.description or ''} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(configuration_table())
