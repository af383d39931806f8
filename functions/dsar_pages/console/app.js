// The compliance console: signs in with a pasted bearer token (kept in sessionStorage) and drives the
// DSAR API of the same origin. No innerHTML: every value from the API is set as text.
"use strict";

(() => {
  const TOKEN_KEY = "callproof.dsar.token";
  const OPEN = new Set([
    "pending_confirmation", "verified", "in_progress", "awaiting_correction", "needs_review", "needs_attention",
    "received", "investigating",
  ]);
  const REVIEW = "needs_review"; // the identifiers reach several people: staff choose the subject
  const KINDS = { contact: "contact", user: "member account" };
  const POLL_MS = 1000;
  const $ = (id) => document.getElementById(id);
  let current = null; // the request shown in the detail section
  let poller = null;

  class ApiError extends Error {
    constructor(status, payload) {
      const error = payload && typeof payload.error === "object" ? payload.error : null;
      let message;
      if (status === 401) {
        message = "The token was refused (expired or not valid here). Sign in again.";
      } else if (error) {
        const fields = (error.details || []).map((d) => d.field).filter(Boolean);
        message = `${error.message || error.code}${fields.length ? ` (${fields.join(", ")})` : ""}`;
      } else {
        message = (payload && payload.message) || `The server answered ${status}.`;
      }
      super(message);
      this.status = status;
    }
  }

  const token = () => sessionStorage.getItem(TOKEN_KEY);

  async function api(method, path, body) {
    const headers = { Authorization: `Bearer ${token()}`, Accept: "application/json" };
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let payload = null;
    try {
      payload = await response.json();
    } catch (_) {
      payload = null;
    }
    if (!response.ok) throw new ApiError(response.status, payload);
    return payload;
  }

  const requestPath = (id, action) =>
    `v1/dsar/requests/${encodeURIComponent(id)}${action ? `/${action}` : ""}`;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) node.append(child instanceof Node ? child : String(child ?? "-"));
    return node;
  }

  function showError(message) {
    $("notice").textContent = "";
    $("error").textContent = message;
  }

  function showNotice(message) {
    $("error").textContent = "";
    $("notice").textContent = message;
  }

  // Run an action; an API error lands in the alert region, a 401 signs out.
  async function guarded(action) {
    try {
      await action();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) signOut(false);
      showError(error instanceof ApiError ? error.message : `The request failed: ${error.message}`);
    }
  }

  function deadlineText(item) {
    if (!OPEN.has(item.status)) return String(item.days_left);
    if (item.deadline_state === "overdue") return `${item.days_left} (overdue)`;
    if (item.deadline_state === "due_soon") return `${item.days_left} (due soon)`;
    return String(item.days_left);
  }

  function deadlineClass(item) {
    if (!OPEN.has(item.status)) return "";
    return { overdue: "overdue", due_soon: "due-soon" }[item.deadline_state] || "";
  }

  // ---------------------------------------------------------------------------------- the list
  async function loadList() {
    const status = $("filter-status").value;
    const items = [];
    let cursor = null;
    do {
      const query = new URLSearchParams({ limit: "100" });
      if (status) query.set("status", status);
      if (cursor) query.set("cursor", cursor);
      const page = await api("GET", `v1/dsar/requests?${query}`);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    items.sort(byReviewThenDue);
    renderList(items);
  }

  // Requests that need review first (nothing moves until staff choose), then by due date, then id.
  function byReviewThenDue(a, b) {
    const review = Number(b.status === REVIEW) - Number(a.status === REVIEW);
    if (review) return review;
    if (a.due !== b.due) return a.due < b.due ? -1 : 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  }

  function statusCell(item) {
    const text = item.status.replaceAll("_", " ");
    return item.status === REVIEW ? el("td", {}, el("strong", { class: "review-text" }, text)) : el("td", {}, text);
  }

  function renderList(items) {
    const body = $("requests").tBodies[0];
    body.replaceChildren(
      ...items.map((item) => {
        const open = el("button", { type: "button", class: "open", "aria-label": `Open request ${item.id}` }, item.id);
        open.addEventListener("click", () => guarded(() => openRequest(item.id)));
        const cls = deadlineClass(item);
        const rowClass = [item.status === REVIEW ? "needs-review" : "", cls].filter(Boolean).join(" ");
        return el(
          "tr",
          { class: rowClass, "data-id": item.id },
          el("td", {}, open),
          el("td", {}, item.type),
          statusCell(item),
          el("td", {}, item.due, item.extended ? " (extended)" : ""),
          el("td", cls ? { class: `${cls}-text` } : {}, deadlineText(item)),
        );
      }),
    );
    $("empty").hidden = items.length > 0;
  }

  // ---------------------------------------------------------------------------------- one request
  async function openRequest(id) {
    render(await api("GET", requestPath(id)));
    $("detail").hidden = false;
  }

  function render(request) {
    const previous = current;
    current = request;
    $("detail-title").textContent = `Request ${request.id}`;
    const subject = request.subject || {};
    const facts = [
      ["Type", request.type + (request.lift ? " (lift)" : "")],
      ["Status", request.status.replaceAll("_", " ")],
      ["Jurisdiction", request.jurisdiction.toUpperCase()],
      ["Received", request.received],
      ["Due", request.due + (request.extended ? " (extended)" : "")],
      ["Days left", deadlineText(request)],
      // A closed request keeps no identifier of the person (ADR 0022): say so instead of leaving gaps.
      ["Identifiers", subject.removed_at ? `removed at completion (${subject.removed_at})` : null],
      ["Email", subject.email],
      ["Phone", subject.phone],
      ["Contact id", subject.contact_id],
      ["Proven identifiers", kindsText(subject.proven)],
      ["Unverified identifiers", kindsText(subject.unverified)],
      ["Contacts found", idsText(subject.contacts_found)],
      ["Accounts found", idsText(subject.users_found)],
      ["Recipient", request.recipient_email],
      ["Verification", request.verification],
      ["Details", request.details],
      ["Answer", request.answer],
      ["Steps", Object.entries(request.steps || {}).map(([name, s]) => `${name}: ${s}`).join(", ") || null],
    ];
    $("facts").replaceChildren(
      ...facts.filter(([, value]) => value !== null && value !== undefined).flatMap(([name, value]) => [
        el("dt", {}, name),
        el("dd", name === "Status" ? { id: "detail-status" } : {}, value),
      ]),
    );
    renderCandidates(request);
    const stores = Object.entries(request.stores || {}).sort(([a], [b]) => (a < b ? -1 : 1));
    $("stores").tBodies[0].replaceChildren(
      ...stores.map(([name, s]) =>
        el("tr", {}, ...[name, s.status, s.rows, s.deleted, s.kept, s.residue, s.attempts, s.error].map((v) => el("td", {}, v))),
      ),
    );
    $("stores").hidden = stores.length === 0;
    $("timeline").replaceChildren(
      ...(request.timeline || []).map((event) =>
        el("li", {}, el("time", { datetime: event.at }, event.at), ` ${event.event}`, event.detail ? ` — ${event.detail}` : ""),
      ),
    );
    const open = OPEN.has(request.status);
    $("start").hidden = request.status !== "verified";
    $("retry").hidden = request.status !== "needs_attention";
    $("download").hidden = !request.download_ready;
    $("investigate").hidden = request.status !== "received";
    $("answer-form").hidden = !(request.type === "complaint" && open);
    $("extend-form").hidden = !open;
    $("cancel-form").hidden = !open;
    schedulePoll(request);
    if (previous && previous.id === request.id && previous.status !== request.status) {
      guarded(loadList);
    }
  }

  // Identifier kinds (``email``, ``phone``, ``contact_id``), or "none".
  function kindsText(kinds) {
    return kinds && kinds.length ? kinds.map((kind) => kind.replaceAll("_", " ")).join(", ") : "none";
  }

  // Resolved ids; null (not shown) while the subject is not resolved yet.
  function idsText(ids) {
    if (!ids) return null;
    return ids.length ? ids.join(", ") : "none";
  }

  // needs_review: one checkbox per candidate, with its kind and how the identifiers reached it.
  function renderCandidates(request) {
    const candidates = request.status === REVIEW ? (request.subject && request.subject.candidates) || [] : [];
    const form = $("subject-form");
    if (form.dataset.id !== request.id || candidates.length === 0) form.reset();
    form.dataset.id = request.id;
    form.hidden = candidates.length === 0;
    const ticked = new Set(
      [...$("candidates").querySelectorAll("input:checked")].map((box) => `${box.dataset.kind}:${box.value}`),
    );
    $("candidates").tBodies[0].replaceChildren(
      ...candidates.map((candidate) => {
        const kind = KINDS[candidate.kind] || candidate.kind;
        const box = el("input", {
          type: "checkbox",
          value: candidate.id,
          "data-kind": candidate.kind,
          "aria-label": `Choose ${kind} ${candidate.id}`,
        });
        box.checked = ticked.has(`${candidate.kind}:${candidate.id}`);
        return el(
          "tr",
          {},
          el("td", {}, box),
          el("td", {}, kind),
          el("td", {}, candidate.id),
          el("td", {}, (candidate.via || []).join(", ") || null),
        );
      }),
    );
  }

  // While a workflow runs, follow it.
  function schedulePoll(request) {
    clearTimeout(poller);
    poller = null;
    if (request.status !== "in_progress") return;
    poller = setTimeout(
      () => guarded(async () => {
        if (current && current.id === request.id) render(await api("GET", requestPath(request.id)));
      }),
      POLL_MS,
    );
  }

  // POST an action on the request shown; ``done`` says what happened, given the updated request.
  async function act(action, body, done) {
    const updated = await api("POST", requestPath(current.id, action), body);
    render(updated);
    await loadList();
    showNotice(done(updated));
  }

  // ---------------------------------------------------------------------------------- sign in / out
  // Show the app once the token has listed the requests (a refused token never gets past sign-in).
  // ---------------------------------------------------------------------------- open incidents
  // The breach register's incidents whose authority clock runs (open, or flagged overdue daily).
  async function loadIncidents() {
    const page = await api("GET", "v1/incidents?limit=100");
    const open = page.items.filter((item) => item.status !== "authority_notified");
    $("incidents").tBodies[0].replaceChildren(
      ...open.map((item) =>
        el(
          "tr",
          { class: item.authority_overdue ? "overdue" : "", "data-id": item.id },
          el("td", {}, item.id),
          el("td", {}, item.authority_overdue ? "overdue" : item.status),
          el("td", {}, item.detected_at),
          el("td", item.authority_overdue ? { class: "overdue-text" } : {}, item.authority_due),
          el("td", {}, String(item.affected.members)),
          el("td", {}, String(item.affected.subjects)),
        ),
      ),
    );
    $("no-incidents").hidden = open.length > 0;
  }

  async function enter() {
    await loadList();
    await loadIncidents();
    $("login").hidden = true;
    $("app").hidden = false;
    $("sign-out").hidden = false;
  }

  async function signIn() {
    try {
      await enter();
    } catch (error) {
      signOut(false);
      throw error;
    }
  }

  function signOut(announce) {
    sessionStorage.removeItem(TOKEN_KEY);
    clearTimeout(poller);
    current = null;
    $("requests").tBodies[0].replaceChildren();
    $("incidents").tBodies[0].replaceChildren();
    $("detail").hidden = true;
    $("app").hidden = true;
    $("sign-out").hidden = true;
    $("login").hidden = false;
    $("token").value = "";
    if (announce) showNotice("Signed out.");
  }

  function formValues(form) {
    const values = {};
    for (const [name, value] of new FormData(form)) {
      if (String(value).trim()) values[name] = String(value).trim();
    }
    return values;
  }

  function today() {
    // The UTC date, as the API counts it (a local date ahead of UTC would be "in the future").
    return new Date().toISOString().slice(0, 10);
  }

  function wire() {
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token").value.trim().replace(/^Bearer\s+/i, ""));
      guarded(async () => {
        await signIn();
        showNotice("Signed in.");
      });
    });
    $("sign-out").addEventListener("click", () => signOut(true));
    $("filter-form").addEventListener("submit", (event) => {
      event.preventDefault();
      guarded(loadList);
    });
    $("filter-status").addEventListener("change", () => guarded(loadList));
    $("new-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const values = formValues(event.target);
      const subject = {};
      if (values.email) subject.email = values.email;
      if (values.phone) subject.phone = values.phone;
      const body = {
        type: values.type,
        subject,
        jurisdiction: values.jurisdiction,
        received: values.received,
        verification: values.verification || "",
      };
      if (values.recipient_email) body.recipient_email = values.recipient_email;
      if (values.details) body.details = values.details;
      guarded(async () => {
        const created = await api("POST", "v1/dsar/requests", body);
        event.target.reset();
        $("new-received").value = today();
        render(created);
        $("detail").hidden = false;
        await loadList();
        showNotice(`Request ${created.id} created (${created.status.replaceAll("_", " ")}).`);
      });
    });
    $("start").addEventListener("click", () => guarded(() => act("start", undefined, () => "Started.")));
    $("retry").addEventListener("click", () => guarded(() => act("retry", undefined, () => "Retrying from the failed step.")));
    $("investigate").addEventListener("click", () => guarded(() => act("investigate", undefined, () => "Investigating.")));
    $("answer-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const values = formValues(event.target);
      guarded(async () => {
        await act("answer", values, () => "Answered: the person was emailed the answer.");
        event.target.reset();
      });
    });
    $("extend-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const values = formValues(event.target);
      guarded(async () => {
        await act("extend", values, (r) => `Extended: now due ${r.due}.`);
        event.target.reset();
      });
    });
    $("cancel-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const values = formValues(event.target);
      guarded(async () => {
        await act("cancel", values, () => "Cancelled.");
        event.target.reset();
      });
    });
    $("subject-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const body = { contact_ids: [], user_ids: [], reason: formValues(event.target).reason || "" };
      for (const box of $("candidates").querySelectorAll("input:checked")) {
        (box.dataset.kind === "user" ? body.user_ids : body.contact_ids).push(box.value);
      }
      if (body.contact_ids.length + body.user_ids.length === 0) {
        showError("Tick at least one candidate.");
        return;
      }
      guarded(async () => {
        await act("subject", body, (r) => `Subject chosen: the request is now ${r.status.replaceAll("_", " ")}.`);
        event.target.reset();
      });
    });
    $("download").addEventListener("click", () =>
      guarded(async () => {
        const link = await api("GET", requestPath(current.id, "download"));
        showNotice(`Downloading the export (link valid until ${link.expires_at}).`);
        window.location.assign(link.url);
      }),
    );
  }

  wire();
  $("new-received").value = today();
  if (token()) guarded(signIn); // a reload keeps the tab signed in
})();
