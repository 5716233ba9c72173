// The staff console's plumbing: tokens (sessionStorage), authenticated fetches with one
// refresh on a 401, problem+json messages. Loaded before console.js; no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  access: sessionStorage.getItem("access"),
  refresh: sessionStorage.getItem("refresh"),
  rows: new Map(), // run id -> {tr, cells}
  messages: { run: null, page: 1, pages: 1 },
  polling: null,
  busy: false,
};
const POLL_MS = 1000;

function saveTokens(body) {
  state.access = body.access_token;
  state.refresh = body.refresh_token;
  sessionStorage.setItem("access", state.access);
  sessionStorage.setItem("refresh", state.refresh);
}

async function refreshTokens() {
  const response = await fetch("/users/refresh", {
    method: "POST", headers: { Authorization: "Bearer " + state.refresh } });
  if (!response.ok) return false;
  saveTokens(await response.json());
  return true;
}

async function api(path, options = {}, retried = false) {
  const headers = Object.assign({}, options.headers || {});
  if (state.access) headers.Authorization = "Bearer " + state.access;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401 && state.refresh && !retried && await refreshTokens()) {
    return api(path, options, true);
  }
  if (response.status === 401) {
    window.logout("Your session has ended; log in again.");
    throw new Error("unauthorized");
  }
  return response;
}

async function problemText(response) {
  try {
    const body = await response.json();
    const fields = body.errors ? " " + JSON.stringify(body.errors) : "";
    return `${body.title || response.status}: ${body.detail || ""}${fields}`;
  } catch (e) {
    return `HTTP ${response.status}`;
  }
}

function notice(text, isError = false) {
  $("notice").textContent = text;
  $("notice").className = isError ? "error" : "";
}
