"""Feedback on answers: 👍/👎 with an optional comment, stored per collection, exportable as a test set.

One SQLite file per collection under `data_dir/feedback/<collection>.sqlite3`; a rating
is keyed by the answer it rates (`answer_id`), so changing a rating or adding a comment
updates the one row. `testset_jsonl` gives the ratings as a JSONL test set in the
format `rag eval` reads (`question`, `answer`, `evidence[{article, text}]`, `answerable`,
`type`): each 👍 answer becomes a test case, the answer (markers removed) as reference
and its highlighted spans as evidence; a comment is kept as `note`. 👎 answers have no
reference to test against: they stay in the file for review (`FeedbackStore.all`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rag.answer.model import Answer
from rag.eval.run import spoken_text

Rating = Literal["up", "down"]


@dataclass(frozen=True)
class Feedback:
    """A rating of one answer, with what is needed to re-ask the question and check the answer."""

    answer_id: str
    question: str
    searched: str
    answer: str
    rating: Rating
    comment: str
    declined: bool
    evidence: tuple[tuple[str, str], ...]  # (article title or id, cited text)
    created: float = 0.0


def evidence_of(answer: Answer) -> tuple[tuple[str, str], ...]:
    """Every highlighted span of the answer's cited passages, with its article."""
    return tuple(
        (c.passage.title or c.passage.article_id, c.passage.text[start:end])
        for c in answer.citations
        for start, end in c.highlights
    )


class FeedbackStore:
    """The ratings of one collection (SQLite; safe to use from the web app's worker threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS feedback (answer_id TEXT PRIMARY KEY, question TEXT, searched TEXT, "
                "answer TEXT, rating TEXT, comment TEXT, declined INTEGER, evidence TEXT, created REAL)"
            )

    @classmethod
    def for_collection(cls, data_dir: Path, collection: str) -> FeedbackStore:
        return cls(data_dir / "feedback" / f"{collection}.sqlite3")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
            yield db

    def save(self, feedback: Feedback) -> None:
        """Store a rating; a second rating of the same answer replaces the first (a comment is kept unless given)."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(answer_id) DO UPDATE SET "
                "rating = excluded.rating, comment = CASE WHEN excluded.comment != '' THEN excluded.comment "
                "ELSE feedback.comment END, created = excluded.created",
                (
                    feedback.answer_id,
                    feedback.question,
                    feedback.searched,
                    feedback.answer,
                    feedback.rating,
                    feedback.comment,
                    int(feedback.declined),
                    json.dumps(feedback.evidence, ensure_ascii=False),
                    feedback.created or time.time(),
                ),
            )

    def comment(self, answer_id: str, comment: str) -> bool:
        """Attach a comment to a rated answer; False when the answer was not rated."""
        with self._connect() as db:
            return db.execute("UPDATE feedback SET comment = ? WHERE answer_id = ?", (comment, answer_id)).rowcount > 0

    def all(self) -> list[Feedback]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM feedback ORDER BY created").fetchall()
        return [
            Feedback(
                answer_id=row[0],
                question=row[1],
                searched=row[2],
                answer=row[3],
                rating="up" if row[4] == "up" else "down",
                comment=row[5],
                declined=bool(row[6]),
                evidence=tuple((str(a), str(t)) for a, t in json.loads(row[7])),
                created=row[8],
            )
            for row in rows
        ]

    def testset_jsonl(self) -> str:
        """The 👍 ratings as a JSONL test set for `rag eval`."""
        records = [testset_record(feedback) for feedback in self.all() if feedback.rating == "up"]
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def testset_record(feedback: Feedback) -> dict[str, Any]:
    """One test record in `rag eval`'s format (see rag.eval.run.load_testset)."""
    record: dict[str, Any] = {
        "id": f"feedback-{feedback.answer_id}",
        "question": feedback.searched or feedback.question,
        "answer": "" if feedback.declined else spoken_text(feedback.answer),
        "evidence": [{"article": article, "text": text} for article, text in feedback.evidence],
        "answerable": not feedback.declined,
        "type": "feedback",
    }
    if feedback.comment:
        record["note"] = feedback.comment
    return record
