// The staff console: plain browser JavaScript, no build step. It holds the admin's
// tokens in sessionStorage and calls the same admin API as any other client
// (console-api.js has the plumbing).
"use strict";

// --- login -------------------------------------------------------------------

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const response = await fetch("/users/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: $("email").value, password: $("password").value }) });
  if (!response.ok) {
    $("login-error").textContent = await problemText(response);
    return;
  }
  saveTokens(await response.json());
  await enter();
}

async function enter() {
  const me = await api("/users/me");
  if (!me.ok) return logout("Log in again.");
  const user = await me.json();
  if (user.role !== "admin") return logout("The console is for admins; this account is not one.");
  $("who").textContent = `${user.username} (admin)`;
  $("login-panel").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  await poll();
  state.polling = setInterval(poll, POLL_MS);
}

function logout(message = "") {
  if (state.polling) clearInterval(state.polling);
  state.polling = null;
  sessionStorage.clear();
  state.access = state.refresh = null;
  $("app").hidden = true;
  $("logout").hidden = true;
  $("who").textContent = "";
  $("login-panel").hidden = false;
  $("login-error").textContent = message;
}

// --- runs --------------------------------------------------------------------

function percent(run) {
  if (run.state === "succeeded") return 100;
  const { current, total } = run.progress;
  if (!total) return null;
  return Math.min(100, Math.floor((100 * current) / total));
}

function button(label, action, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.dataset.action = action;
  b.addEventListener("click", onClick);
  return b;
}

function newRow(run) {
  const tr = document.createElement("tr");
  tr.dataset.runId = run.task_id;
  const cells = {};
  for (const name of ["name", "state", "progress", "params", "result", "requested", "actions"]) {
    cells[name] = document.createElement("td");
    cells[name].dataset.col = name;
    tr.appendChild(cells[name]);
  }
  cells.bar = document.createElement("progress");
  cells.bar.max = 100;
  cells.label = document.createElement("span");
  cells.progress.append(cells.bar, " ", cells.label);
  cells.paramsCode = document.createElement("code");
  cells.params.appendChild(cells.paramsCode);
  cells.resultCode = document.createElement("code");
  cells.result.appendChild(cells.resultCode);
  const id = run.task_id;
  cells.buttons = {
    cancel: button("Cancel", "cancel", () => act(id, "cancel")),
    retry: button("Retry", "retry", () => act(id, "retry")),
    messages: button("Messages", "messages", () => showMessages(id, 1)),
    download: button("Download", "download", () => download(id)),
  };
  cells.actions.append(...Object.values(cells.buttons));
  return { tr, cells, run };
}

function updateRow(row, run) {
  const { cells } = row;
  row.run = run;
  row.tr.dataset.state = run.state;
  cells.name.textContent = run.name;
  cells.state.textContent = run.state + (run.cancel_requested_at && run.state === "running" ? " (cancelling)" : "");
  cells.state.className = "state state-" + run.state;
  const p = percent(run);
  if (p === null) {
    cells.bar.removeAttribute("value");
    cells.label.textContent = `${run.progress.current}`;
  } else {
    cells.bar.value = p;
    cells.label.textContent = `${p}%`;
  }
  cells.bar.dataset.percent = p === null ? "" : String(p);
  cells.paramsCode.textContent = run.params && Object.keys(run.params).length ? JSON.stringify(run.params) : "";
  cells.resultCode.textContent = run.error ? run.error : run.result ? JSON.stringify(run.result) : "";
  cells.requested.textContent = new Date(run.requested_at).toLocaleString()
    + (run.retry_of ? ` (retry of ${run.retry_of.slice(0, 8)})` : "");
  cells.buttons.cancel.hidden = !["queued", "running"].includes(run.state);
  cells.buttons.retry.hidden = !["failed", "cancelled"].includes(run.state);
  cells.buttons.download.hidden = !run.output_url;
}

async function loadRuns() {
  const response = await api("/admin/tasks?per_page=25");
  if (!response.ok) return notice(await problemText(response), true);
  const runs = (await response.json()).items;
  const body = $("runs").querySelector("tbody");
  const keep = new Set();
  runs.forEach((run, index) => {
    keep.add(run.task_id);
    let row = state.rows.get(run.task_id);
    if (!row) {
      row = newRow(run);
      state.rows.set(run.task_id, row);
    }
    updateRow(row, run);
    if (body.children[index] !== row.tr) body.insertBefore(row.tr, body.children[index] || null);
  });
  for (const [id, row] of state.rows) {
    if (!keep.has(id)) { row.tr.remove(); state.rows.delete(id); }
  }
}

async function loadBacklog() {
  const response = await api("/admin/notifications/backlog");
  if (!response.ok) return;
  const b = await response.json();
  $("backlog-pending").textContent = b.pending;
  $("backlog-sending").textContent = b.sending;
  $("backlog-failed").textContent = b.failed;
  $("backlog-oldest").textContent = b.oldest_pending_at
    ? `${new Date(b.oldest_pending_at).toLocaleString()} (${Math.round(b.oldest_pending_age_seconds)} s ago)` : "none";
}

async function poll() {
  if (state.busy || !state.access) return;
  state.busy = true;
  try {
    await Promise.all([loadRuns(), loadBacklog()]);
  } catch (e) {
    if (e.message !== "unauthorized") notice("Cannot reach the API: " + e.message, true);
  } finally {
    state.busy = false;
  }
}

async function act(id, action) {
  const response = await api(`/admin/tasks/${id}/${action}`, { method: "POST" });
  if (action === "retry") return accepted(response, "Retry");
  if (!response.ok) return notice(await problemText(response), true);
  notice("Cancel requested.");
  await poll();
}

async function accepted(response, what) {
  if (!response.ok) return notice(await problemText(response), true);
  const body = await response.json();
  notice(`${what} queued (${body.task_id}).`);
  await poll();
}

async function startJob(event) {
  event.preventDefault();
  const raw = $("job-params").value.trim();
  const options = { method: "POST" };
  if (raw) {
    try { JSON.parse(raw); } catch (e) { return notice("Parameters are not valid JSON: " + e.message, true); }
    options.headers = { "Content-Type": "application/json" };
    options.body = raw;
  }
  await accepted(await api(`/admin/tasks/${$("job-name").value}`, options), $("job-name").value);
}

async function upload(event) {
  event.preventDefault();
  const file = $("import-file").files[0];
  if (!file) return notice("Choose a file first.", true);
  const form = new FormData();
  form.append("file", file);
  form.append("format", $("import-format").value);
  form.append("dry_run", $("import-dry-run").checked ? "true" : "false");
  const dry = $("import-dry-run").checked ? " (dry run)" : "";
  await accepted(await api("/admin/imports", { method: "POST", body: form }), `Import of ${file.name}${dry}`);
}

async function download(id) {
  const run = state.rows.get(id).run;
  const response = await api(run.output_url);
  if (!response.ok) return notice(await problemText(response), true);
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename="?([^";]+)"?/.exec(disposition);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = match ? match[1] : "output";
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
}

// --- messages ----------------------------------------------------------------

async function showMessages(id, page) {
  const level = $("messages-level").value;
  const query = new URLSearchParams({ page: String(page), per_page: "20" });
  if (level) query.set("level", level);
  const response = await api(`/admin/tasks/${id}/messages?${query}`);
  if (!response.ok) return notice(await problemText(response), true);
  const body = await response.json();
  state.messages = { run: id, page: body.meta.page, pages: Math.max(1, body.meta.pages) };
  $("messages-panel").hidden = false;
  $("messages-run").textContent = `${state.rows.get(id)?.run.name || "run"} ${id.slice(0, 8)}`;
  const tbody = $("messages").querySelector("tbody");
  tbody.replaceChildren(...body.items.map((m) => {
    const tr = document.createElement("tr");
    for (const value of [m.ref, m.level, m.code, m.detail]) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.appendChild(td);
    }
    tr.className = "level-" + m.level;
    return tr;
  }));
  $("messages-page").textContent = ` page ${state.messages.page} of ${state.messages.pages} `
    + `(${body.meta.total} message${body.meta.total === 1 ? "" : "s"}) `;
  $("messages-prev").disabled = state.messages.page <= 1;
  $("messages-next").disabled = state.messages.page >= state.messages.pages;
}

// --- wiring ------------------------------------------------------------------

$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", () => logout());
$("start-form").addEventListener("submit", startJob);
$("import-form").addEventListener("submit", upload);
$("messages-level").addEventListener("change", () => state.messages.run && showMessages(state.messages.run, 1));
$("messages-prev").addEventListener("click", () => showMessages(state.messages.run, state.messages.page - 1));
$("messages-next").addEventListener("click", () => showMessages(state.messages.run, state.messages.page + 1));
if (state.access) enter().catch(() => logout());
