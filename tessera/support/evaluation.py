"""A fixed set of realistic questions with the answer the bot should give: an intent
(a personal answer, the sale times, a person) or a help-centre entry's slug, or
``unsure`` for questions the help centre does not cover. ``make bench`` (group
``support``) and the tests report the share answered correctly; it must stay >= 85 %.
"""

from __future__ import annotations

from dataclasses import dataclass

from tessera.support import bot
from tessera.support.search import Index

# (question, expected): expected is a slug, or one of bot's intents, or "unsure".
QUESTIONS: list[tuple[str, str]] = [
    # tickets
    ("我的票在哪里看？", bot.MY_TICKETS),
    ("Where are my tickets?", bot.MY_TICKETS),
    ("I can't find my tickets after paying", bot.MY_TICKETS),
    ("买完票怎么没看到我的电子票", bot.MY_TICKETS),
    ("电子票可以发到邮箱吗", "tickets-by-email"),
    ("Can you email me the tickets as a PDF?", "tickets-by-email"),
    ("一个订单最多可以买几张", "ticket-limit"),
    ("How many tickets can one person buy?", "ticket-limit"),
    ("能自己选座位吗", "seat-choice"),
    ("Can I pick seats together on the seat map?", "seat-choice"),
    ("周杰伦演唱会什么时候开售", bot.SALE_OPEN),
    ("When do tickets go on sale for the derby?", bot.SALE_OPEN),
    ("开票时间是几点", bot.SALE_OPEN),
    # refunds
    ("退票要扣多少手续费", "refund-policy"),
    ("Can I get a refund for a concert ticket?", "refund-policy"),
    ("What is the refund fee?", "refund-policy"),
    ("我的订单 T261122-K7M3QX 可以退吗？要多少钱", bot.REFUND_QUOTE),
    ("Can I refund my order and what will it cost?", bot.REFUND_QUOTE),
    ("我想退掉我的票，手续费多少", bot.REFUND_QUOTE),
    ("退款多久到账", "refund-how-long"),
    ("How long until the refund arrives in my account?", "refund-how-long"),
    ("演出取消了怎么办", "event-cancelled"),
    ("The concert was postponed, what now?", "event-cancelled"),
    ("可以改签到另一场吗", "exchange-tickets"),
    ("Can I exchange my ticket for another date?", "exchange-tickets"),
    # transfers
    ("票怎么转赠给朋友", "transfer-ticket"),
    ("How can I give my ticket to a friend?", "transfer-ticket"),
    ("可以在闲鱼上转卖吗", "resale"),
    ("Can I resell my ticket to someone?", "resale"),
    # entry
    ("我从哪个门进场？", bot.WHICH_GATE),
    ("Which gate is mine?", bot.WHICH_GATE),
    ("Which entrance should I use with my ticket?", bot.WHICH_GATE),
    ("几点开始入场", "doors-open"),
    ("What time do the doors open?", "doors-open"),
    ("能带充电宝和相机进去吗", "security-items"),
    ("Can I bring a camera or a water bottle?", "security-items"),
    ("中途出去还能再进来吗", "reentry"),
    ("Can I leave and come back in later?", "reentry"),
    ("小孩要买票吗", "children"),
    ("Do kids need their own ticket?", "children"),
    # parking and travel
    ("场馆有停车场吗", "parking"),
    ("Is there parking at the stadium?", "parking"),
    ("开车去方便停车吗", "parking"),
    ("坐地铁怎么去体育场", "public-transport"),
    ("Which metro station is nearest to the venue?", "public-transport"),
    # accessibility
    ("有轮椅席位吗", "accessible-seating"),
    ("Is the venue wheelchair accessible?", "accessible-seating"),
    ("字太小了看不清，有大字版吗", "large-text-mode"),
    ("How do I make the text bigger?", "large-text-mode"),
    # real-name
    ("什么是实名制购票", "real-name"),
    ("Do I need an ID card for real-name tickets?", "real-name"),
    ("观演人名字填错了能改吗", "real-name-correction"),
    ("I typed the wrong name on the ticket, can it be corrected?", "real-name-correction"),
    ("外国人可以用护照入场吗", "real-name-documents"),
    ("Can I use my passport at the gate?", "real-name-documents"),
    # payment
    ("支持微信支付吗", "payment-methods"),
    ("Can I pay with Alipay?", "payment-methods"),
    ("付款失败了但是钱被扣了", "payment-failed"),
    ("I was charged twice but got no tickets", "payment-failed"),
    ("能开发票吗", "invoice"),
    ("Can I get an invoice for my company?", "invoice"),
    ("付款倒计时过期了座位还在吗", "hold-expired"),
    ("My hold expired before I could pay", "hold-expired"),
    # waiting room and account
    ("排队是按什么顺序的", "waiting-room"),
    ("Does joining the waiting room early help?", "waiting-room"),
    ("排队的时候刷新页面会掉队吗", "waiting-room-left"),
    ("忘记密码了怎么办", "account-password"),
    ("I forgot my password", "account-password"),
    # a person
    ("转人工", bot.HUMAN),
    ("I want to talk to a real person", bot.HUMAN),
    # not covered
    ("今天天气怎么样", bot.UNSURE),
    ("What's the capital of France?", bot.UNSURE),
    ("推荐一家附近的火锅店", bot.UNSURE),
]


@dataclass(frozen=True)
class Result:
    total: int
    correct: int
    wrong: list[tuple[str, str, str]]  # (question, expected, given)

    @property
    def share(self) -> float:
        return self.correct / self.total if self.total else 0.0


def given(found: bot.Route) -> str:
    if found.kind == bot.FAQ:
        return str(found.faq_key)
    return found.kind


def evaluate(index: Index, *, key_to_slug=None) -> Result:
    """Route every question through the bot with ``index``; ``key_to_slug`` maps the
    index's keys to slugs (an index of database rows is keyed by primary key)."""
    wrong = []
    for question, expected in QUESTIONS:
        found = bot.route(question, index)
        answer = given(found)
        if found.kind == bot.FAQ and key_to_slug is not None:
            answer = key_to_slug.get(found.faq_key, answer)
        if answer != expected:
            wrong.append((question, expected, answer))
    return Result(total=len(QUESTIONS), correct=len(QUESTIONS) - len(wrong), wrong=wrong)
