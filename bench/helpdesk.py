"""Group ``support``: the answer bot's share of correct answers on the fixed question set
(``tessera/support/evaluation.py``, Chinese and English), over the help centre as first
published, and the time to answer one question. Needs no database."""

from __future__ import annotations

import time

from bench import Context, group


@group("support", order=90, needs_database=False)
def run(ctx: Context) -> dict:
    from tessera.support import bot, evaluation, faq_seed
    from tessera.support.search import Index

    started = time.perf_counter()
    index = Index.build(bot.documents_of(faq_seed.ENTRIES))
    build_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    result = evaluation.evaluate(index)
    route_ms = (time.perf_counter() - started) * 1000 / result.total
    for question, expected, given in result.wrong:
        ctx.log(f"wrong: {question!r}: expected {expected}, got {given}")
    ctx.log(f"{result.correct} of {result.total} answered correctly")
    return {
        "questions": result.total,
        "correct": result.correct,
        "share_correct_pct": round(100 * result.share, 1),
        "index_build_ms": round(build_ms, 1),
        "ms_per_question": round(route_ms, 2),
    }
