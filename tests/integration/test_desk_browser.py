"""The desk in a real browser (Debian's chromium, driven by Playwright) beside a running daemon.

The daemon watches the local Telegram server; the tests open the desk, read the highlighted
story, press its buttons and check what the database and the daemon then do.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from monitor.feedback_links import feedback_url
from tests.helpers.desk import browser_page, serve_desk
from tests.helpers.monitor_world import MonitorWorld, wait_until
from tests.helpers.processes import monitor

pytestmark = [pytest.mark.telegram, pytest.mark.slow]

STORY = "Двое дезертиров задержаны военной полицией под Курском"
SECOND = "Ещё один дезертир объявлен в розыск в Белгороде"
ECHO = "Двое дезертиров задержаны военной полицией под Курском, сообщают источники"
HOSTILE = [
    "<script>window.pwned = 1; alert('xss')</script> дезертир",
    '<img src=x onerror="window.pwned = 2"> дезертир сбежал',
    "\u202eдезертир задержан\u202c после override <b>bold?</b>",
    "дезертир " + "очень длинный текст " * 6000,
]


async def _daemon_with(
    world: MonitorWorld, *texts: str, also: str | None = None, extra: str = ""
) -> Any:
    """Start the daemon on @desk_news (and @desk_wire), post ``texts`` on the first and
    ``also`` on the second; wait until they are stored."""
    news = world.server.add_channel(username="desk_news", title="Desk News")
    wire = world.server.add_channel(username="desk_wire", title="Desk Wire")
    world.write_config(["@desk_news", "@desk_wire"], extra, interval=60)
    await world.login()
    world.start_daemon()
    await wait_until(lambda: _joined(world, 2))
    for text in texts:
        await world.server.post(news, text)
    if also is not None:
        await world.server.post(wire, also)
    count = len(texts) + (also is not None)
    await wait_until(lambda: _flagged_is(world, count), within=30)
    return news


async def _joined(world: MonitorWorld, count: int) -> bool:
    return await world.scalar("select count(*) from channels where joined") == count


async def _flagged_is(world: MonitorWorld, count: int) -> bool:
    return await world.scalar("select count(*) from posts where flagged") == count


async def test_story_is_highlighted_and_false_positive_is_recorded(
    world: MonitorWorld, tmp_path: Path
) -> None:
    """The story shows with <mark>ed words and the channel that echoed it; "False positive" is
    stored, shown after a reload and counted by `monitor rules eval --feedback`."""
    await _daemon_with(world, STORY, SECOND, also=ECHO)
    await wait_until(lambda: world.scalar("select count(*) from alerts where merged_into > 0"))
    async with serve_desk(world.config()) as url, browser_page() as page:
        await page.goto(url + "/")
        news = page.locator(".channel", has_text="@desk_news")
        story = page.locator("article.post", has_text="Курском", has=news)
        marked = await story.locator("mark").all_inner_texts()
        assert any(word.lower().startswith("дезертир") for word in marked)
        assert await story.locator(".evidence").inner_text() == (
            "Rules: test-desertion · matched: дезертир"
        )
        assert await story.locator(".peers").inner_text() == "Same story in: @desk_wire"
        await story.get_by_role("button", name="False positive").click()
        await page.get_by_role("status").filter(has_text="Recorded").wait_for()
        rows = await world.query("select label, who from feedback")
        assert [tuple(row) for row in rows] == [("false_positive", "web")]
        await page.reload()
        shown = await story.locator(".feedback").inner_text()
        assert shown.startswith("false positive · web")
        await _screenshot(page, tmp_path)
    evaluated = await monitor(world, "rules", "eval", "--feedback")
    assert evaluated.code == 0, evaluated.stderr
    assert "(TP 0, FP 1, FN 0, TN 0)" in evaluated.stdout


async def _screenshot(page: Any, tmp_path: Path) -> None:
    """Take the README's screenshot; MONITOR_DESK_SCREENSHOT=docs/desk.png keeps a copy."""
    path = tmp_path / "desk.png"
    await page.screenshot(path=str(path), full_page=False)
    assert path.read_bytes().startswith(b"\x89PNG")
    keep = os.environ.get("MONITOR_DESK_SCREENSHOT")
    if keep:
        shutil.copyfile(path, keep)


async def test_muting_a_channel_in_the_page_stops_the_running_daemons_alerts(
    world: MonitorWorld,
) -> None:
    """After "Mute channel" the running daemon stores the next story flagged but alerts none;
    the mutes page lists the mute and undoes it."""
    channel = await _daemon_with(world, STORY)
    assert await world.scalar("select count(*) from alerts where kind = 'post'") == 1
    async with serve_desk(world.config()) as url, browser_page() as page:
        await page.goto(url + "/")
        story = page.locator("article.post").first
        await story.locator("[data-mute-hours]").select_option("1")
        await story.get_by_role("button", name="Mute channel").click()
        await page.get_by_role("status").filter(has_text="Muted channel desk_news").wait_for()
        await world.server.post(channel, SECOND)
        await wait_until(lambda: _flagged_is(world, 2), within=30)
        assert await world.scalar("select count(*) from alerts where kind = 'post'") == 1
        await page.goto(url + "/mutes")
        row = page.locator("tr[data-mute]", has_text="desk_news")
        await row.get_by_role("button", name="Undo").click()
        await row.locator(".state").filter(has_text="undone").wait_for()
    assert await world.scalar("select count(*) from mutes where undone_at is not null") == 1


async def test_hostile_posts_render_as_text(world: MonitorWorld) -> None:
    """Script tags, onerror images, RTL overrides and a huge post show as harmless text."""
    await _daemon_with(world, *HOSTILE)
    async with serve_desk(world.config()) as url, browser_page() as page:
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await page.goto(url + "/")
        texts = page.locator("article.post .text")
        assert await texts.count() == len(HOSTILE)
        shown = "\n".join(await texts.all_inner_texts())
        assert "<script>window.pwned = 1; alert('xss')</script>" in shown
        assert '<img src=x onerror="window.pwned = 2">' in shown
        assert await page.locator("main script, main img, article b").count() == 0
        assert await page.evaluate("window.pwned === undefined") is True
        assert dialogs == []
        bidi = await texts.first.evaluate("node => getComputedStyle(node).unicodeBidi")
        assert bidi == "isolate"
        assert await page.locator(".more", has_text="more characters").count() == 1
        header = page.locator("header.top")
        assert (await header.inner_text()).startswith("monitor desk")


async def test_edits_and_deletions_are_shown_as_such(world: MonitorWorld) -> None:
    """A post the channel edited says when; one it deleted is marked deleted, and stays."""
    news = await _daemon_with(world, STORY, SECOND)
    await world.server.edit(news, 1, STORY + " (обновлено)")
    await world.server.delete(news, [2])
    await wait_until(
        lambda: world.scalar("select count(*) from posts where deleted_at is not null")
    )
    await wait_until(lambda: world.scalar("select count(*) from posts where edit_date is not null"))
    async with serve_desk(world.config()) as url, browser_page() as page:
        await page.goto(url + "/")
        edited = page.locator("article.post", has_text="обновлено")
        deleted = page.locator("article.post.deleted", has_text="Белгороде")
        assert (await edited.locator(".edited-note").inner_text()).startswith("Edited at ")
        assert (await deleted.locator(".deleted-note").inner_text()).startswith(
            "Deleted by the channel at "
        )


async def test_a_token_desk_asks_for_it_once_and_keeps_it_in_a_cookie(world: MonitorWorld) -> None:
    """With a token, the browser is sent to /login; a wrong token is refused; the right one
    opens the desk, and the page's buttons work with the cookie it set."""
    (world.folder / "desk-token").write_text("browser-token-77\n", encoding="utf-8")
    await _daemon_with(world, STORY, extra='[web]\ntoken_file = "desk-token"\n')
    async with serve_desk(world.config()) as url, browser_page() as page:
        await page.goto(url + "/")
        assert page.url == url + "/login"
        await page.get_by_label("Token").fill("wrong")
        await page.get_by_role("button", name="Open the desk").click()
        await page.get_by_role("status").filter(has_text="wrong access token").wait_for()
        await page.get_by_label("Token").fill("browser-token-77")
        await page.get_by_role("button", name="Open the desk").click()
        await page.wait_for_url(url + "/")
        story = page.locator("article.post", has_text="Курском")
        await story.get_by_role("button", name="Confirmed").click()
        await page.get_by_role("status").filter(has_text="Recorded: confirmed").wait_for()
        cookie = (await page.context.cookies())[0]
        assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    assert await world.scalar("select label from feedback") == "confirmed"


async def test_charts_draw_the_flags_and_the_rules_precision(world: MonitorWorld) -> None:
    """/charts draws the flags per day by category and channel, and the rules' precision
    follows the feedback."""
    await _daemon_with(world, STORY, SECOND)
    async with serve_desk(world.config()) as url, browser_page() as page:
        failures: list[str] = []
        page.on("console", lambda m: failures.append(m.text) if m.type == "error" else None)
        await page.goto(url + "/")
        await page.locator("article.post").first.get_by_role("button", name="Confirmed").click()
        await page.get_by_role("status").filter(has_text="Recorded").wait_for()
        await (
            page.locator("article.post").nth(1).get_by_role("button", name="False positive").click()
        )
        await page.get_by_role("status").filter(has_text="false positive").wait_for()
        await page.goto(url + "/charts")
        await page.locator("[data-chart=category] canvas").wait_for()
        await page.locator("[data-chart=channel] canvas").wait_for()
        legend = await page.locator("[data-chart=channel] .u-legend").inner_text()
        rule = await page.locator("table.rules tr", has_text="test-desertion").inner_text()
    assert "@desk_news" in legend
    assert rule.split() == ["test-desertion", "desertion", "2", "1", "1", "50%"]
    assert failures == []  # no script blocked by the content policy, no error


async def test_a_missed_story_is_marked_from_the_unflagged_posts(world: MonitorWorld) -> None:
    """An unflagged post shows under "Unflagged" with a "Missed story" button; pressing it
    with a category records a missed story that `rules eval --feedback` counts."""
    missed = "Военнослужащий не вернулся в часть из отпуска"  # AWOL, without the rule's words
    news = await _daemon_with(world, STORY)
    await world.server.post(news, missed)
    await wait_until(lambda: world.scalar("select count(*) from posts where not flagged"))
    async with serve_desk(world.config()) as url, browser_page() as page:
        await page.goto(url + "/")
        await page.get_by_role("link", name="Unflagged").click()
        post = page.locator("article.post", has_text="не вернулся")
        assert await page.locator("article.post").count() == 1
        await post.get_by_label("category of the missed story").select_option("awol")
        await post.get_by_role("button", name="Missed story").click()
        await page.get_by_role("status").filter(has_text="Recorded: missed").wait_for()
        assert (await post.locator(".feedback").inner_text()).startswith("missed (awol) · web")
    rows = await world.query("select label, category from feedback")
    assert [tuple(row) for row in rows] == [("missed", "awol")]
    evaluated = await monitor(world, "rules", "eval", "--feedback")
    assert "(TP 0, FP 0, FN 1, TN 0)" in evaluated.stdout


async def test_a_signed_feedback_link_records_its_judgement(world: MonitorWorld) -> None:
    """A webhook's signed link opens the post (even on a token desk) and its button records
    the link's label; opening alone records nothing, and an altered link is refused."""
    (world.folder / "desk-token").write_text("link-desk-token\n", encoding="utf-8")
    extra = '[web]\ntoken_file = "desk-token"\n[feedback]\nsecret = "link-secret-5"\n'
    await _daemon_with(world, STORY, extra=extra)
    post_id = await world.scalar("select id from posts where flagged")
    async with serve_desk(world.config()) as url, browser_page() as page:
        link = feedback_url(url, post_id, "false_positive", "link-secret-5")
        await page.goto(link)
        assert "Курском" in await page.locator("article.post .text").inner_text()
        assert await world.scalar("select count(*) from feedback") == 0
        await page.get_by_role("button", name="Record: false positive").click()
        await page.get_by_role("status").filter(has_text="Recorded: false positive").wait_for()
        forged = link.replace("false_positive", "confirmed")
        answer = await page.goto(forged)
        assert answer is not None
        assert answer.status == 400
        assert "not valid" in await page.locator(".error").inner_text()
    rows = await world.query("select label, who from feedback")
    assert [tuple(row) for row in rows] == [("false_positive", "link")]


async def test_search_finds_a_missed_story_by_another_word_form(world: MonitorWorld) -> None:
    """Search finds an unflagged post by another form of its word, marks the hit, and its
    "Missed story" button records it."""
    missed = "Военнослужащий не вернулся в часть из отпуска"
    news = await _daemon_with(world, STORY)
    await world.server.post(news, missed)
    await wait_until(lambda: world.scalar("select count(*) from posts where not flagged"))
    async with serve_desk(world.config()) as url, browser_page() as page:
        await page.goto(url + "/")
        await page.get_by_role("link", name="Search").click()
        await page.get_by_role("searchbox").fill("отпуск")
        await page.get_by_role("button", name="Search").click()
        post = page.locator("article.post", has_text="не вернулся")
        assert await post.locator("mark").all_inner_texts() == ["отпуска"]
        assert await page.locator("article.post").count() == 1
        await post.get_by_label("category of the missed story").select_option("awol")
        await post.get_by_role("button", name="Missed story").click()
        await page.get_by_role("status").filter(has_text="Recorded: missed").wait_for()
    rows = await world.query("select label, category from feedback")
    assert [tuple(row) for row in rows] == [("missed", "awol")]
