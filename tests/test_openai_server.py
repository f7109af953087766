"""Tests for the fake OpenAI server, driven through the real `openai` client over loopback."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai import OpenAI

from tests.openai_server import DEFAULT_REPLY, EMBEDDING_DIM, FakeOpenAI, fake_embedding, fake_openai, split_deltas

MESSAGES = [{"role": "user", "content": "What guarantees does Kyiv want?"}]


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as running:
        yield running


@pytest.fixture
def client(server: FakeOpenAI) -> Iterator[OpenAI]:
    with OpenAI(api_key="test", base_url=server.base_url, max_retries=0) as running:
        yield running


def test_non_streaming_completion_returns_reply(client: OpenAI) -> None:
    completion = client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert completion.choices[0].message.content == DEFAULT_REPLY
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-test"
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_reply_function_sees_messages(server: FakeOpenAI, client: OpenAI) -> None:
    server.reply = lambda messages: "Echo: " + messages[-1]["content"]
    completion = client.chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].message.content == "Echo: What guarantees does Kyiv want?"


def test_streaming_deltas_concatenate_to_reply(client: OpenAI) -> None:
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    chunks = list(stream)
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(deltas) > 3
    assert "".join(deltas) == DEFAULT_REPLY
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_streaming_usage_chunk_when_requested(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    last = list(stream)[-1]
    assert last.choices == [] and last.usage is not None


def test_sse_wire_format(server: FakeOpenAI) -> None:
    with httpx.stream(
        "POST", f"{server.base_url}/chat/completions", json={"model": "m", "messages": MESSAGES, "stream": True}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["transfer-encoding"] == "chunked"
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[0][6:])["object"] == "chat.completion.chunk"


@pytest.mark.parametrize("text", ["", "one", "two words", "  leading and trailing  ", "tabs\tand\nnewlines"])
def test_split_deltas_round_trips(text: str) -> None:
    assert "".join(split_deltas(text)) == text


def test_requests_are_recorded_in_order(server: FakeOpenAI, client: OpenAI) -> None:
    client.chat.completions.create(model="first", messages=MESSAGES)
    client.embeddings.create(model="second", input="hello")
    assert [body["model"] for body in server.requests] == ["first", "second"]
    assert server.requests[0]["messages"] == MESSAGES


def test_error_mode_raises_internal_server_error(server: FakeOpenAI, client: OpenAI) -> None:
    server.mode = "error"
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model="m", messages=MESSAGES)
    assert raised.value.status_code == 500
    assert len(server.requests) == 1  # max_retries=0: exactly one attempt


def test_hang_mode_times_out(server: FakeOpenAI, client: OpenAI) -> None:
    server.mode = "hang"
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.5).chat.completions.create(model="m", messages=MESSAGES)


def test_broken_stream_raises_while_iterating(server: FakeOpenAI, client: OpenAI) -> None:
    server.mode = "broken_stream"
    with (
        client.chat.completions.create(model="m", messages=MESSAGES, stream=True) as stream,
        pytest.raises((openai.APIError, httpx.HTTPError)),
    ):
        for _ in stream:
            pass


def test_embeddings_shape_and_determinism(client: OpenAI) -> None:
    texts = ["Istanbul talks", "Kyiv", "Istanbul talks"]
    first = client.embeddings.create(model="e", input=texts)
    again = client.embeddings.create(model="e", input=texts, encoding_format="float")
    vectors = [item.embedding for item in first.data]
    assert [item.index for item in first.data] == [0, 1, 2]
    assert all(len(v) == EMBEDDING_DIM for v in vectors)
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0, rel_tol=1e-5) for v in vectors)
    assert vectors[0] == vectors[2] != vectors[1]
    # The client asks for base64 by default; float32 decoding must agree with the float format.
    for decoded, plain in zip(vectors, (item.embedding for item in again.data), strict=False):
        assert decoded == pytest.approx(plain, abs=1e-6)
    assert again.data[1].embedding == fake_embedding("Kyiv")


def test_models_lists_one_model(client: OpenAI) -> None:
    models = client.models.list()
    assert len(models.data) == 1


def test_unknown_path_is_404_json(server: FakeOpenAI) -> None:
    response = httpx.post(f"{server.base_url}/nope", json={})
    assert response.status_code == 404
    assert "error" in response.json()


def test_close_is_idempotent_and_frees_the_port() -> None:
    fake = FakeOpenAI()
    fake.close()
    fake.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{fake.base_url}/models", timeout=1)
