"""Markdown rendered in each platform's dialect, escaped so the platform accepts it."""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from clawbus.channels.discord.outbound import PROFILE as DISCORD
from clawbus.channels.slack.outbound import PROFILE as SLACK
from clawbus.channels.telegram.outbound import PROFILE as TELEGRAM
from clawbus.channels.whatsapp.outbound import PROFILE as WHATSAPP
from clawbus.egress.core import render

REPLY = "**Bold** and *it* and ~~gone~~ with `a<b>` and [docs](https://x.test/?a=1&b=2) & more"


def test_telegram_gets_html_with_everything_escaped() -> None:
    assert render(REPLY, TELEGRAM.style) == (
        "<b>Bold</b> and <i>it</i> and <s>gone</s> with <code>a&lt;b&gt;</code> and "
        '<a href="https://x.test/?a=1&amp;b=2">docs</a> &amp; more'
    )


def test_telegram_code_blocks_become_pre_with_the_language() -> None:
    text = "Run:\n```python\nif a < b and c:\n    print('**x**')\n```\nok"
    assert render(text, TELEGRAM.style) == (
        "Run:\n<pre><code class=\"language-python\">if a &lt; b and c:\n    print('**x**')</code></pre>\nok"
    )


def test_slack_gets_mrkdwn() -> None:
    assert render(REPLY, SLACK.style) == (
        "*Bold* and _it_ and ~gone~ with `a<b>` and <https://x.test/?a=1&amp;b=2|docs> &amp; more"
    )


def test_whatsapp_gets_its_own_markers_and_plain_links() -> None:
    assert render(REPLY, WHATSAPP.style) == (
        "*Bold* and _it_ and ~gone~ with `a<b>` and docs (https://x.test/?a=1&b=2) & more"
    )


def test_discord_renders_markdown_itself() -> None:
    assert render(REPLY, DISCORD.style) == REPLY


def test_unclosed_emphasis_stays_literal() -> None:
    assert render("2 * 3 = 6 and a_b_c", SLACK.style) == "2 * 3 = 6 and a_b_c"


class _Balance(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.ok = True

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.ok = self.ok and bool(self.stack) and self.stack.pop() == tag


@given(st.lists(st.sampled_from([*"ab *_~`<>&[]()\n", "```\n", "**"]), max_size=200).map("".join))
@settings(max_examples=300, deadline=None)
def test_telegram_html_is_always_well_formed(text: str) -> None:
    parser = _Balance()
    parser.feed(render(text, TELEGRAM.style))
    parser.close()
    assert parser.ok
    assert parser.stack == []
