"""Optional abstractive summaries from an OpenAI-compatible chat-completions server.

Off by default and never required: an operator may point newsalert at a local
llama.cpp, Ollama or vLLM server (or any service speaking the OpenAI
``/chat/completions`` protocol).  Every failure — connection refused, HTTP
error, timeout, malformed JSON, an empty, overlong or evasive answer — falls back
to the extractive summary, so an alert is never held up or left without one.

``base_url`` follows the OpenAI client's convention: everything before
``/chat/completions``, e.g. ``http://127.0.0.1:11434/v1`` for Ollama or
``http://127.0.0.1:8080/v1`` for llama.cpp's server.
"""

from __future__ import annotations

import asyncio
import logging
import re
from types import TracebackType
from typing import Any

import httpx

from bot.config.model import SummaryConfig
from bot.records import Article, Summary
from bot.summary.boilerplate_ko import is_korean
from bot.summary.extractive import (
    DEFAULT_MAX_CHARS,
    article_language,
    article_text,
    budget_for,
    summarize,
)
from bot.summary.sentences import split_sentences
from bot.text import html_to_text

log = logging.getLogger(__name__)

METHOD_LLM = "llm"
METHOD_FALLBACK = "extractive-fallback"

# The model sees the start of the article only: the lead carries the facts, and
# small local models have small context windows.
_MAX_INPUT_CHARS = 6000
_SYSTEM_PROMPT = (
    "You write the summary line of a news alert sent to phones. Summarise the article in "
    "one to three plain sentences of at most {max_chars} characters in total. State what "
    "happened, who and where, using only facts from the article. No preamble, no headline, "
    "no lists, no markdown, no opinion. Write the summary in {language}.{translate}"
)
_LANGUAGE_NAMES = {"en": "English", "ko": "Korean"}
_TRANSLATE = (
    " The article is in {source}: summarise it in {language} for a reader who does not read"
    " {source}; keep names as {language} news writes them."
)
_PREAMBLE = re.compile(
    r"^(?:here(?:'s| is) (?:a |the )?(?:short |brief |concise )?summary[^:]*:|summary\s*:|"
    r"tl;?dr\s*:)\s*",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"^(?:i'?m sorry|i am sorry|sorry,|i cannot|i can'?t|as an ai|i'?m unable|i am unable)",
    re.IGNORECASE,
)
_MARKDOWN = re.compile(r"[*_`#]+")


class LLMSummarizer:
    """Summaries from a chat-completions endpoint, falling back to the extractive ones.

    ``timeout`` bounds the whole request (connect, send, wait, read) in seconds.
    ``client`` may be passed to share one ``httpx.AsyncClient``; otherwise one is
    created on first use and closed by :meth:`aclose` (or ``async with``).
    ``max_concurrency`` caps the requests in flight so that a burst of articles
    does not swamp a small local server.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = SummaryConfig.llm_timeout,
        max_chars: int = DEFAULT_MAX_CHARS,
        *,
        temperature: float = 0.2,
        max_concurrency: int = 2,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("base_url is required (e.g. http://127.0.0.1:11434/v1)")
        if not model:
            raise ValueError("model is required")
        self.endpoint = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout = float(timeout)
        self.max_chars = int(max_chars)
        self.temperature = temperature
        self._api_key = api_key
        self._client = client
        self._owns_client = client is None
        self._limit = asyncio.Semaphore(max(1, max_concurrency))

    async def summarize(
        self, article: Article, *, max_chars: int | None = None, language: str | None = None
    ) -> Summary:
        """The model's summary of ``article`` (``method="llm"``) in ``language`` ("en",
        "ko"; the article's own when None), or the extractive summary in the article's
        language (``method="extractive-fallback"``) on any error, bad answer or timeout.
        A summary in another language than the article's has ``source_language`` set.
        ``max_chars`` is a budget in characters of English (``bot.summary.extractive.budget_for``).
        Never raises for a failure of the server."""
        english_budget = int(max_chars or self.max_chars)
        source = article_language(article)
        target = language if language in _LANGUAGE_NAMES else source
        budget = budget_for(target, english_budget)
        body = article_text(article)
        if not body:
            # Nothing beyond the headline: a model could only invent.
            return summarize(article, max_chars=english_budget)
        try:
            # The deadline covers waiting for a free slot too: an alert is never held up.
            answer = await asyncio.wait_for(
                self._complete(article, body, budget, source, target), timeout=self.timeout
            )
            text = _clean_answer(answer, article, budget, target)
        except TimeoutError:
            log.warning("LLM summary of %s timed out after %.1fs", article.id, self.timeout)
            return self._fallback(article, english_budget)
        except _BadAnswer as e:
            log.warning("LLM summary of %s rejected: %s", article.id, e)
            return self._fallback(article, english_budget)
        except (httpx.HTTPError, ValueError, KeyError, TypeError, IndexError) as e:
            log.warning("LLM summary of %s failed: %s", article.id, _describe(e))
            return self._fallback(article, english_budget)
        return Summary(
            article.id,
            text,
            method=METHOD_LLM,
            language=target,
            source_language=source if source != target else "",
        )

    async def _complete(
        self, article: Article, body: str, budget: int, source: str, target: str
    ) -> Any:
        client = self._get_client()
        title = html_to_text(article.title or "").replace("\n", " ")
        names = {"language": _LANGUAGE_NAMES[target], "source": _LANGUAGE_NAMES[source]}
        prompt = _SYSTEM_PROMPT.format(
            max_chars=budget,
            language=names["language"],
            translate=_TRANSLATE.format(**names) if source != target else "",
        )
        payload = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": prompt},
                {
                    "role": "user",
                    "content": f"Title: {title}\n\nArticle:\n{body[:_MAX_INPUT_CHARS]}",
                },
            ],
            "temperature": self.temperature,
            # About four characters of English per token, one or two of Korean, with room
            # for the model to finish a sentence.
            "max_tokens": max(64, budget // 3 if target != "ko" else budget * 3 // 2),
            "stream": False,
        }
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        async with self._limit:
            response = await client.post(self.endpoint, json=payload, headers=headers)
        response.raise_for_status()
        data = response.json()
        return data["choices"][0]["message"]["content"]

    def _fallback(self, article: Article, budget: int) -> Summary:
        extractive = summarize(article, max_chars=budget)
        return Summary(
            article.id, extractive.text, method=METHOD_FALLBACK, language=extractive.language
        )

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout))
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client if this summariser created it."""
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> LLMSummarizer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class _BadAnswer(Exception):
    """The server answered, but not with a usable summary."""


def _clean_answer(answer: Any, article: Article, budget: int, language: str = "en") -> str:
    """The model's answer as one plain-text paragraph within ``budget``, or _BadAnswer."""
    if not isinstance(answer, str):
        raise _BadAnswer(f"content is {type(answer).__name__}, not text")
    text = _MARKDOWN.sub("", answer)
    text = " ".join(text.split())
    text = _PREAMBLE.sub("", text).strip().strip('"“”').strip()
    if len(text) < 20:
        raise _BadAnswer("empty or too short")
    if _REFUSAL.match(text):
        raise _BadAnswer("the model declined")
    if is_korean(text) != (language == "ko"):
        raise _BadAnswer(f"the answer is not in {_LANGUAGE_NAMES.get(language, language)}")
    title = " ".join(html_to_text(article.title or "").split()).rstrip(".").lower()
    if title and text.rstrip(".").lower() == title:
        raise _BadAnswer("the answer repeats the title")
    if len(text) <= budget:
        return text
    # Too long: keep the whole sentences that fit; never cut one mid-way.
    kept: list[str] = []
    used = 0
    for sentence in split_sentences(text):
        cost = len(sentence) + (1 if kept else 0)
        if used + cost > budget:
            break
        kept.append(sentence)
        used += cost
    if not kept:
        raise _BadAnswer(f"{len(text)} characters, over the {budget}-character budget")
    return " ".join(kept)


def _describe(error: Exception) -> str:
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
