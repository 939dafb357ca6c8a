"""Incident text can never become script: not in the widget's blocks, the stored HTML, the feed or Slack."""

from __future__ import annotations

from html.parser import HTMLParser

from plugins.breaking_news import markup

MALICIOUS = (
    "Hello <script>alert('x')</script> and <img src=x onerror=alert(1)>\n\n"
    "- [click](javascript:alert(1))\n"
    "- [tricky](JaVaScRiPt:alert(2)) and [data](data:text/html;base64,PHNjcmlwdD4=)\n"
    "- [fine](https://status.example.com/a?b=1&c=2) and <a href=\"javascript:alert(3)\">raw</a>"
)


class Elements(HTMLParser):
    """Every element and attribute an HTML fragment really has (escaped text is not an element)."""

    def __init__(self, fragment: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(fragment)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def assert_inert(fragment: str) -> None:
    for tag, attributes in Elements(fragment).found:
        assert tag in {"p", "ul", "li", "strong", "em", "code", "a", "br"}, tag
        assert not [name for name in attributes if name.startswith("on")], (tag, attributes)
        if tag == "a":
            assert (attributes.get("href") or "https://").startswith(("https://", "http://")), attributes


def all_links(blocks):
    for block in blocks:
        rows = [block["children"]] if block["type"] == "p" else block["items"]
        for row in rows:
            yield from (node for node in row if node["type"] == "link")


def test_blocks_carry_markup_as_text_and_only_http_links():
    blocks = markup.parse(MALICIOUS)
    assert [link["href"] for link in all_links(blocks)] == ["https://status.example.com/a?b=1&c=2"]
    first = blocks[0]["children"][0]
    assert first == {"type": "text",
                     "text": "Hello <script>alert('x')</script> and <img src=x onerror=alert(1)>"}
    first_item = blocks[1]["items"][0]
    assert first_item == [{"type": "text", "text": "click"}]


def test_stored_html_has_no_script_no_handlers_no_script_links():
    rendered = markup.to_html(MALICIOUS)
    assert_inert(rendered)
    assert "&lt;script&gt;" in rendered and "&lt;img src=x onerror=alert(1)&gt;" in rendered
    link = '<a href="https://status.example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">fine</a>'
    assert link in rendered


def test_sanitiser_is_a_second_line_of_defence_on_raw_html():
    cleaned = markup.sanitise('<p onclick="x()">hi<script>bad()</script><a href="javascript:x()">y</a>'
                              '<img src=x onerror=alert(1)><iframe src="https://evil.example"></iframe></p>')
    assert cleaned == '<p>hi<a rel="noopener noreferrer nofollow">y</a></p>'


def test_subset_renders_emphasis_lists_and_bare_addresses():
    source = ("**Live** streams are *slow* in `eu-1`.\nDetails: https://status.example.com/x.\n\n"
              "- one\n- _two_")
    assert markup.to_html(source) == (
        '<p><strong>Live</strong> streams are <em>slow</em> in <code>eu-1</code>.<br>Details: '
        '<a href="https://status.example.com/x" rel="noopener noreferrer nofollow">https://status.example.com/x</a>.'
        "</p><ul><li>one</li><li><em>two</em></li></ul>")
    assert markup.to_text(source) == ("Live streams are slow in eu-1.\nDetails: https://status.example.com/x.\n"
                                      "• one\n• two")


def test_snake_case_words_are_not_emphasis():
    assert markup.to_html("the live_stream_id field") == "<p>the live_stream_id field</p>"


def test_admin_api_stores_sanitised_html_and_public_json_has_no_html_from_data(news):
    incident = news.create(title="<img src=x onerror=alert(1)>", body=MALICIOUS)
    assert_inert(incident["body_html"])
    assert_inert(news.shown()[0]["body_html"])
    [shown] = news.shown()
    assert shown["title"] == "<img src=x onerror=alert(1)>"  # text, for textContent
    assert [link["href"] for link in all_links(shown["body"])] == ["https://status.example.com/a?b=1&c=2"]
