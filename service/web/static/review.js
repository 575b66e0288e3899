// The review queue: keyboard-driven decisions that save at once, bulk decisions, more cards on demand.
"use strict";

(() => {
  const list = document.getElementById("cards");
  const more = document.getElementById("more");
  const toast = document.getElementById("toast");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const categoryKeys = list.dataset.keys.split(",");
  const REFILL_BELOW = 10;
  const undoButton = document.getElementById("toast-undo");
  let current = 0;
  let loading = null;
  // The decisions this page saved, latest last: what Z undoes (card, where it stood, the case version).
  const done = [];

  // The page's filters as a query, so counts after a decision are of the filtered queue.
  const filtered = () => (list.dataset.query ? "?" + list.dataset.query : "");
  const cards = () => Array.from(list.querySelectorAll(".card:not([hidden])"));

  function focusCard(index) {
    const all = cards();
    document.getElementById("empty").hidden = all.length > 0;
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((card, i) => card.classList.toggle("current", i === current));
    all[current].focus({ preventScroll: true });
    all[current].scrollIntoView({ block: "nearest" });
    if (all.length - current < REFILL_BELOW) loadMore();
  }

  function say(text, bad, undoable) {
    document.getElementById("toast-text").textContent = text;
    undoButton.hidden = !undoable;
    toast.classList.toggle("bad", Boolean(bad));
    toast.classList.add("shown");
    clearTimeout(say.timer);
    say.timer = setTimeout(() => toast.classList.remove("shown"), undoable ? 6000 : 1800);
  }

  function updateSelection() {
    const n = list.querySelectorAll(".card:not([hidden]) .select:checked").length;
    document.getElementById("selected-count").textContent = n;
    document.getElementById("bulk-confirm").disabled = n === 0;
    document.getElementById("bulk-reject").disabled = n === 0;
    list.querySelectorAll(".card").forEach((card) => card.classList.toggle("selected", card.querySelector(".select").checked));
  }

  // Save a decision for some cards. Confirmed or rejected cards leave the queue at once (and come
  // back with a mark if the server refuses); a new category relabels the card.
  async function decide(targets, decision, category) {
    if (!targets.length) return;
    const leaving = decision !== "recategorize";
    const index = current;
    const places = targets.map((card) => ({ card, next: card.nextElementSibling, parent: card.parentElement }));
    if (leaving) {
      targets.forEach((card) => { card.hidden = true; card.querySelector(".select").checked = false; });
      focusCard(index);
      updateSelection();
    }
    // Each card says the status it showed: a case someone else decided meanwhile is refused
    // (with who and when, in the visitor's language) instead of being overwritten.
    const expected_status = Object.fromEntries(targets.map((card) => [card.dataset.id, card.dataset.status]));
    const body = { ids: targets.map((card) => Number(card.dataset.id)), decision, expected_status };
    if (category) body.category = category;
    let results;
    try {
      const response = await fetch("/review/decide" + filtered(), {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      if (response.status === 401) window.location.href = "/login?next=%2Freview";
      if (!response.ok) throw new Error(String(response.status));  // the status only: the body is not in the page language
      const answer = await response.json();
      results = answer.results;
      counted(answer);
    } catch (error) {
      results = body.ids.map((id) => ({ id, error: String(error.message || error) }));
    }
    const failed = [];
    results.forEach((result, i) => {
      const card = targets[i];
      if (result.error) {
        card.hidden = false;
        card.classList.add("failed");
        card.title = result.error;
        failed.push(result.error);
      } else {
        done.push({ ...places[i], id: result.id, version: result.version });
        if (leaving) card.remove();
        else { card.dataset.status = result.status; relabel(card, result.category); }
      }
    });
    if (failed.length) {
      say(list.dataset.failed + ": " + failed[0], true);
      focusCard(current);
    } else {
      say(list.dataset.saved + " · " + targets.length, false, true);
    }
  }

  // Undo this page's latest decision while nobody else changed the case: the card comes back where it was.
  async function undo() {
    const last = done.pop();
    if (!last) return;
    let answer;
    try {
      const response = await fetch("/review/undo" + filtered(), {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ id: last.id, version: last.version }),
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(String(response.status));  // the status only: the body is not in the page language
      answer = await response.json();
    } catch (error) {
      answer = { error: String(error.message || error) };
    }
    if (answer.error) { say(list.dataset.failed + ": " + answer.error, true); return; }
    const card = last.card;
    card.dataset.status = answer.status;
    card.hidden = false;
    card.classList.remove("failed");
    if (!card.isConnected) last.parent.insertBefore(card, last.next && last.next.isConnected ? last.next : null);
    relabel(card, answer.category);
    counted(answer);
    focusCard(cards().indexOf(card));
    say(list.dataset.undone + " · #" + last.id, false, done.length > 0);
  }

  function counted(answer) {
    document.getElementById("waiting").textContent = answer.waiting;
  }

  function relabel(card, category) {
    const select = card.querySelector(".recat");
    select.value = category;
    const option = select.selectedOptions[0];
    const label = card.querySelector(".cat");
    label.textContent = option.dataset.label;
    label.className = "cat " + option.dataset.colour;
  }

  async function loadMore() {
    const after = more.dataset.next;
    if (!after || loading) return loading;
    const params = new URLSearchParams(list.dataset.query);
    params.set("after", after);
    params.set("order", list.dataset.order);
    loading = fetch("/review/cards?" + params, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        list.insertAdjacentHTML("beforeend", html);
        const pages = list.querySelectorAll(".page");
        more.dataset.next = pages[pages.length - 1].dataset.next;
        more.hidden = !more.dataset.next;
        document.getElementById("empty").hidden = cards().length > 0;
      })
      .catch((status) => say(list.dataset.failed + ": " + status, true))
      .finally(() => { loading = null; });
    return loading;
  }

  function selected() {
    return cards().filter((card) => card.querySelector(".select").checked);
  }

  // The evidence viewer on a card: every sighting of its case, from the one the card shows.
  function zoom(card) {
    const views = card.dataset.views ? card.dataset.views.split(",") : [];
    const shown = card.querySelector("img.zoom");
    const first = shown ? views.findIndex((v) => v.startsWith(shown.dataset.observation + "/")) : 0;
    const items = views.map((v, i) => ({ src: "/evidence/" + v, alt: card.dataset.alt + " · " + (i + 1) + "/" + views.length }));
    viewer.open(items, Math.max(first, 0));
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || viewer.isOpen()) return;
    if (event.key === "Escape") {
      // From any control (a filter, a category list) back to the queue, so J/K work again.
      if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
      focusCard(current);
      event.preventDefault();
      return;
    }
    if (event.target.closest("input:not(.select), select, textarea")) return;
    if (event.key === "Enter" && event.target.closest("button, a")) return;
    const all = cards();
    const card = all[current];
    const key = event.key.toLowerCase();
    if (event.shiftKey) {
      if (key === "a") { all.forEach((c) => { c.querySelector(".select").checked = true; }); updateSelection(); }
      else if (key === "y") decide(selected(), "confirm");
      else if (key === "n") decide(selected(), "reject");
      else return;
    }
    else if (key === "j") focusCard(current + 1);
    else if (key === "k") focusCard(current - 1);
    else if (key === "z") undo();
    else if (!card) return;
    else if (key === "y") decide([card], "confirm");
    else if (key === "n") decide([card], "reject");
    else if (key === " ") zoom(card);
    else if (key === "x") { const box = card.querySelector(".select"); box.checked = !box.checked; updateSelection(); }
    else if (key === "enter") window.location.href = card.querySelector("a.open").href;
    else if (/^[1-9]$/.test(key) && categoryKeys[Number(key) - 1]) decide([card], "recategorize", categoryKeys[Number(key) - 1]);
    else return;
    event.preventDefault();
  });

  list.addEventListener("click", (event) => {
    const card = event.target.closest(".card");
    if (!card) return;
    const index = cards().indexOf(card);
    if (index >= 0 && index !== current) focusCard(index);
    if (event.target.closest("img.zoom")) zoom(card);
    const button = event.target.closest("button[data-decision]");
    if (button) decide([card], button.dataset.decision);
  });

  list.addEventListener("change", (event) => {
    const card = event.target.closest(".card");
    if (event.target.matches(".select")) updateSelection();
    else if (event.target.matches(".recat")) {
      event.target.blur();  // the keys work on the queue again at once
      decide([card], "recategorize", event.target.value);
    }
  });

  document.querySelectorAll("#bulk-confirm, #bulk-reject").forEach((button) => {
    button.addEventListener("click", () => decide(selected(), button.dataset.decision));
  });
  more.addEventListener("click", loadMore);
  undoButton.addEventListener("click", undo);
  // Where the reviewer was in this queue (same filters), kept across opening a case and coming back.
  const placeKey = "queue-place:" + window.location.pathname + window.location.search;

  async function restorePlace() {
    const saved = JSON.parse(sessionStorage.getItem(placeKey) || "null");
    if (!saved) { focusCard(0); return; }
    for (let pages = 0; pages < 5 && !list.querySelector('.card[data-id="' + saved.id + '"]') && more.dataset.next; pages++) {
      await loadMore();
    }
    const card = list.querySelector('.card[data-id="' + saved.id + '"]:not([hidden])');
    focusCard(card ? cards().indexOf(card) : saved.index);
  }

  window.addEventListener("pagehide", () => {
    const card = cards()[current];
    if (card) sessionStorage.setItem(placeKey, JSON.stringify({ id: card.dataset.id, index: current }));
  });
  restorePlace();
})();
