// The desk's clicks: feedback, mutes, undo, login. Each one POSTs JSON to the desk's own API
// with the X-Monitor-Desk header (a cross-site page cannot send it) and shows the answer.
// Text from the server is put in with textContent, never as HTML.
"use strict";

async function send(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Monitor-Desk": "1" },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

function say(text, failed) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = failed ? "status error" : "status";
}

function label(name) {
  return name.replace("_", " ");
}

async function feedback(button, post) {
  const id = post.dataset.post;
  const picked = post.querySelector("[data-missed-category]");
  const body = { label: button.dataset.label };
  if (body.label === "missed" && picked) body.category = picked.value;
  const saved = await send(`/api/posts/${id}/feedback`, body);
  const shown = post.querySelector(`[data-feedback-for="${id}"]`);
  const category = saved.category ? ` (${saved.category})` : "";
  shown.textContent = `${label(saved.label)}${category} · ${saved.who} · just now`;
  say(`Recorded: ${label(saved.label)}`);
}

async function mute(button, post) {
  const hours = post.querySelector("[data-mute-hours]").value;
  const body = { kind: button.dataset.kind, target: button.dataset.target };
  body.hours = hours === "" ? null : Number(hours);
  const saved = await send("/api/mutes", body);
  const until = saved.until ? `until ${saved.until.slice(0, 16).replace("T", " ")} UTC` : "until undone";
  say(`Muted ${saved.kind} ${saved.target} ${until}`);
}

async function undo(button) {
  const saved = await send(`/api/mutes/${button.dataset.muteId}/undo`, {});
  const row = button.closest("tr");
  row.querySelector(".state").textContent = "undone";
  button.remove();
  say(`Undone: ${saved.kind} ${saved.target}`);
}

async function linkFeedback(button, post) {
  const saved = await send(window.location.pathname, {});
  const shown = post.querySelector(`[data-feedback-for="${saved.post_id}"]`);
  shown.textContent = `now: ${label(saved.label)} · ${saved.who} · just now`;
  button.remove();
  say(`Recorded: ${label(saved.label)}`);
}

const actions = { feedback, mute, "undo-mute": undo, "link-feedback": linkFeedback };

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  button.disabled = true;
  try {
    await actions[button.dataset.action](button, button.closest("[data-post]"));
  } catch (error) {
    say(error.message, true);
  } finally {
    button.disabled = false;
  }
});

document.addEventListener("submit", async (event) => {
  if (event.target.id !== "login") return;
  event.preventDefault();
  try {
    await send("/login", { token: event.target.elements.token.value });
    window.location.assign("/");
  } catch (error) {
    say(error.message, true);
  }
});
