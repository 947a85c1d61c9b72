"""The overview counts every outcome per source and charts events per hour by channel."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.console.conftest import Console, wait_until
from tests.factories import make_source


def test_the_overview_counts_accepted_duplicate_and_rejected_events_and_charts_channels(
    console: Console,
) -> None:
    # Given a web source that received two events, one of them twice, and one invalid request
    source = make_source(console.db, name="Web shop", kind="web")
    console.track(source, messageId="o-1")
    console.track(source, messageId="o-2")
    console.track(source, messageId="o-2")
    refused = httpx.post(
        console.url("/v1/track"), auth=(source.write_key, ""), json={"event": "No one"}
    )
    assert refused.status_code == 400

    # When an admin opens the overview (once the consumer has counted the events)
    console.user("admin")
    console.sign_in()

    def charted() -> bool:
        # (The rejection is written with the writer's next housekeeping round, up to a
        # second after the last request: reload until the page has both.)
        page = console.open("/console/")
        rejected = page.locator("tr", has_text="Web shop").locator("td.outcome-rejected")
        return page.locator("rect[data-channel='web']").count() > 0 and (
            rejected.count() == 1 and rejected.inner_text() == "1"
        )

    wait_until(charted)
    row = console.page.locator("tr", has_text="Web shop")

    # Then the tallies say what happened, and the chart has a web bar
    expect(row.locator("td.outcome-accepted")).to_have_text("2")
    expect(row.locator("td.outcome-duplicate")).to_have_text("1")
    expect(row.locator("td.outcome-rejected")).to_have_text("1")
