"""The desk's JSON API and guard on what the daemon stored (SQLite and PostgreSQL)."""

from __future__ import annotations

import socket

import httpx
import pytest
from structlog.testing import capture_logs

from tests.helpers.desk import serve_desk
from tests.helpers.monitor_world import MonitorWorld, wait_until

pytestmark = pytest.mark.telegram

STORIES = [
    "Дезертира задержали на вокзале",
    "Police detained an AWOL deserter near the base",
    "Ещё один дезертир объявлен в розыск",
]
WRITE = {"X-Monitor-Desk": "1"}


async def _stored(world: MonitorWorld, extra: str = "") -> list[int]:
    channel = world.server.add_channel(username="desk_a", title="Desk A")
    other = world.server.add_channel(username="desk_b", title="Desk B")
    ids = [await world.server.post(channel, text) for text in STORIES]
    await world.server.post(channel, "Погода на выходные: без осадков")
    await world.server.post(other, "Погода на выходные: дожди")
    world.write_config(["@desk_a", "@desk_b"], extra)
    await world.login()
    assert await world.sweep() == 0
    return ids


async def test_posts_list_is_flagged_newest_first_with_spans(world: MonitorWorld) -> None:
    """GET /api/posts gives the flagged posts, newest first, with the documented fields
    (flagged=false: the others)."""
    message_ids = await _stored(world)
    async with serve_desk(world.config()) as url, httpx.AsyncClient(base_url=url) as client:
        answer = await client.get("/api/posts", params={"flagged": "true", "limit": 10})
        unflagged = await client.get("/api/posts", params={"flagged": "false"})
    assert sorted(item["text"] for item in unflagged.json()) == [
        "Погода на выходные: без осадков",
        "Погода на выходные: дожди",
    ]
    assert answer.status_code == 200
    items = answer.json()
    assert [item["message_id"] for item in items] == message_ids[::-1]
    first = items[-1]
    assert set(first) >= {"id", "channel", "message_id", "date", "text", "category", "rules"}
    assert (first["channel"], first["category"], first["rules"]) == (
        "desk_a",
        "desertion",
        ["test-desertion"],
    )
    start, end = first["spans"][0]
    assert first["text"][start:end].lower().startswith("дезертир")
    assert first["link"] == f"https://t.me/desk_a/{message_ids[0]}"
    assert first["feedback"] is None


async def test_tag_filter_lists_the_tagged_channels_posts(world: MonitorWorld) -> None:
    """`tag=` lists the posts of the channels configured with that tag, and only those."""
    await _stored(world)
    text = world.config_path.read_text(encoding="utf-8")
    text = text.replace('ref = "@desk_a"\n', 'ref = "@desk_a"\ntags = ["south"]\n')
    world.config_path.write_text(
        text.replace('ref = "@desk_b"\n', 'ref = "@desk_b"\ntags = ["north"]\n')
    )
    async with serve_desk(world.config()) as url, httpx.AsyncClient(base_url=url) as client:
        south = (await client.get("/api/posts", params={"tag": "south"})).json()
        north = (await client.get("/api/posts", params={"tag": "north"})).json()
        unknown = await client.get("/api/posts", params={"tag": "east"})
    assert len(south) == 3
    assert north == []
    assert unknown.status_code == 400


async def test_keyset_pages_walk_every_post_once(world: MonitorWorld) -> None:
    """Pages of one post, each after the last one's cursor, list every flagged post once."""
    message_ids = await _stored(world)
    seen: list[int] = []
    async with serve_desk(world.config()) as url, httpx.AsyncClient(base_url=url) as client:
        params = {"limit": "1"}
        while True:
            answer = await client.get("/api/posts", params=params)
            seen += [item["message_id"] for item in answer.json()]
            if "x-next-after" not in answer.headers:
                break
            params = {"limit": "1", "after": answer.headers["x-next-after"]}
    assert seen == message_ids[::-1]


async def test_feedback_is_recorded_and_filters_the_list(world: MonitorWorld) -> None:
    """POST feedback is stored with who/when, shown on the post and usable as a filter."""
    await _stored(world)
    async with serve_desk(world.config()) as url, httpx.AsyncClient(base_url=url) as client:
        post = (await client.get("/api/posts")).json()[0]
        with capture_logs() as logs:
            answer = await client.post(
                f"/api/posts/{post['id']}/feedback", json={"label": "false_positive"}, headers=WRITE
            )
        assert answer.status_code == 201
        recorded = [e for e in logs if e["event"] == "feedback_recorded"]
        assert [(e["post_id"], e["label"], e["who"]) for e in recorded] == [
            (post["id"], "false_positive", "web")
        ]
        assert (answer.json()["label"], answer.json()["who"]) == ("false_positive", "web")
        shown = (await client.get(f"/api/posts/{post['id']}")).json()
        judged = (await client.get("/api/posts", params={"feedback": "false_positive"})).json()
        unjudged = (await client.get("/api/posts", params={"feedback": "none"})).json()
        bad = await client.post(
            f"/api/posts/{post['id']}/feedback", json={"label": "missed"}, headers=WRITE
        )
    assert shown["feedback"]["label"] == "false_positive"
    assert [item["id"] for item in judged] == [post["id"]]
    assert post["id"] not in [item["id"] for item in unjudged]
    assert len(unjudged) == 2
    assert bad.status_code == 400
    assert "category" in bad.json()["error"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-custom-header"),
        pytest.param({**WRITE, "Origin": "http://evil.example"}, id="foreign-origin"),
        pytest.param({**WRITE, "Sec-Fetch-Site": "cross-site"}, id="cross-site-fetch"),
    ],
)
async def test_cross_site_writes_are_refused(world: MonitorWorld, headers: dict[str, str]) -> None:
    """A state-changing request without the desk's header or from another origin is a 403."""
    await _stored(world)
    async with serve_desk(world.config()) as url, httpx.AsyncClient(base_url=url) as client:
        post = (await client.get("/api/posts")).json()[0]
        answer = await client.post(
            f"/api/posts/{post['id']}/feedback", json={"label": "confirmed"}, headers=headers
        )
        after = (await client.get(f"/api/posts/{post['id']}")).json()
    assert answer.status_code == 403
    assert after["feedback"] is None


async def test_token_guards_every_request(world: MonitorWorld) -> None:
    """With an access token, requests without it get 401 and with it (bearer) get through."""
    (world.folder / "desk-token").write_text("s3cret-desk-token\n", encoding="utf-8")
    await _stored(world, '[web]\ntoken_file = "desk-token"\n')
    async with serve_desk(world.config()) as url, httpx.AsyncClient(base_url=url) as client:
        refused = await client.get("/api/posts")
        wrong = await client.get("/api/posts", headers={"Authorization": "Bearer nope"})
        page = await client.get("/")
        good = await client.get("/api/posts", headers={"Authorization": "Bearer s3cret-desk-token"})
    assert (refused.status_code, wrong.status_code) == (401, 401)
    assert page.status_code == 303
    assert page.headers["location"] == "/login"
    assert good.status_code == 200
    assert len(good.json()) == 3


async def test_foreign_host_is_refused_without_token(world: MonitorWorld) -> None:
    """Without a token the desk answers only to a loopback Host (no DNS rebinding)."""
    await _stored(world)
    async with serve_desk(world.config()) as url, httpx.AsyncClient(base_url=url) as client:
        answer = await client.get("/api/posts", headers={"Host": "rebound.example"})
    assert answer.status_code == 421


async def test_monitor_run_serves_the_desk_with_web_listen(world: MonitorWorld) -> None:
    """With [web] listen, the running daemon serves the desk, and stops it when it stops."""
    with socket.socket() as probe:  # a free port for the config
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await _stored(world, f'[web]\nlisten = "127.0.0.1:{port}"\n')
    daemon = world.start_daemon()
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url) as client:

        async def served() -> int:
            return len((await client.get("/api/posts")).json())

        assert await wait_until(served) == 3
        assert await world.stop_daemon(daemon) == 0
        with pytest.raises(httpx.ConnectError):
            await client.get("/api/posts")


async def test_channels_page_shows_each_channels_health(world: MonitorWorld) -> None:
    """/channels lists each channel with its status and flagged count."""
    await _stored(world)
    async with serve_desk(world.config()) as url, httpx.AsyncClient(base_url=url) as client:
        page = await client.get("/channels")
    assert page.status_code == 200
    row = page.text.split("<bdi>@desk_a</bdi>", 1)[1].split("</tr>", 1)[0]
    assert "<td>active</td>" in row
    assert '<a href="/?channel=%40desk_a">3</a>' in row


async def test_search_api_finds_flagged_and_unflagged_posts(world: MonitorWorld) -> None:
    """GET /api/search finds every stored post with the words, in any form, flagged or not;
    the hits' offsets mark the words in the snippet; a malformed parameter is a 400."""
    await _stored(world)
    async with serve_desk(world.config()) as url, httpx.AsyncClient(base_url=url) as client:
        weather = (await client.get("/api/search", params={"q": "выходных"})).json()
        deserters = (await client.get("/api/search", params={"q": "дезертир"})).json()
        unflagged = await client.get("/api/search", params={"q": "дезертир", "flagged": "false"})
        bad = await client.get("/api/search", params={"q": "x", "before": "soon"})
    assert sorted(hit["snippet"] for hit in weather) == [
        "Погода на выходные: без осадков",
        "Погода на выходные: дожди",
    ]
    assert {hit["flagged"] for hit in weather} == {False}
    assert len(deserters) == 2  # "deserter" (English) is another word
    first = deserters[0]
    start, end = first["highlights"][0]
    assert first["snippet"][start:end].lower().startswith("дезертир")
    assert unflagged.json() == []
    assert bad.status_code == 400
